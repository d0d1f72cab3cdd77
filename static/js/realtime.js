// Live events for dashboard pages (progressive enhancement: every page is complete without it).
// Opens the account's event socket with the session cookie and re-dispatches each event as a
// DOM event, `prix:event`, whose `detail` is {type, data, at}. Pages listen for the types they
// show and patch themselves. Reconnects with backoff; gives up quietly when not allowed (4401).
(function () {
  var holder = document.getElementById("prix-realtime");
  if (!holder || !window.WebSocket) return;
  var configured = holder.getAttribute("data-ws-url");
  var base = configured
    ? configured.replace(/^http/, "ws").replace(/\/$/, "")
    : (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  var delay = 1000;

  function connect() {
    var socket = new WebSocket(base + "/ws/events/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("prix:event", { detail: event }));
    };
    socket.onclose = function (closed) {
      if (closed.code === 4401) return;
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
