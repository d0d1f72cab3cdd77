"""`ProviderSandbox`: the five provider fakes, each on its own 127.0.0.1 port, behind one object."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sandbox.base import ProviderApp, RecordedRequest, SandboxServer
from sandbox.calcom import CalcomApp
from sandbox.elevenlabs import ElevenLabsApp
from sandbox.ghl import GhlApp
from sandbox.paypal import PaypalApp
from sandbox.twilio import TwilioApp

PROVIDERS = ("twilio", "elevenlabs", "ghl", "calcom", "paypal")


class ProviderSandbox:
    """Start with `start()` (or `with ProviderSandbox() as sb:`), stop with `stop()`.

    `ports` maps a provider to a fixed port; missing or 0 means a free one.
    """

    def __init__(self, ports: dict[str, int] | None = None) -> None:
        self.twilio = TwilioApp()
        self.elevenlabs = ElevenLabsApp()
        self.ghl = GhlApp()
        self.calcom = CalcomApp()
        self.paypal = PaypalApp()
        # A call's media stream goes from Twilio to ElevenLabs: the Twilio fake hands the stream
        # of a connected call (its TwiML's <Stream> token) to the ElevenLabs fake.
        self.twilio.on_stream = self.elevenlabs.stream_started
        self.twilio.on_stream_end = self.elevenlabs.stream_ended
        self._ports = ports or {}
        self._servers: dict[str, SandboxServer] = {}

    @property
    def apps(self) -> dict[str, ProviderApp]:
        return {name: getattr(self, name) for name in PROVIDERS}

    def start(self) -> ProviderSandbox:
        for name, app in self.apps.items():
            server = SandboxServer(app, self._ports.get(name, 0))
            server.start()
            self._servers[name] = server
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def __enter__(self) -> ProviderSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_urls(self) -> dict[str, str]:
        """What `settings.PROVIDER_BASE_URLS` (and the *_BASE_URL lines of .env) should hold."""
        return {name: server.url + self.apps[name].mount for name, server in self._servers.items()}

    def requests(self, provider: str | None = None) -> list[RecordedRequest]:
        names = [provider] if provider else list(PROVIDERS)
        return [r for name in names for r in self.apps[name].requests()]

    def inject_fault(self, provider: str, path_regex: str, **fault: Any) -> None:
        """status, latency (s), ratio (0-1, deterministic), count, body, headers: see `base.Fault`."""
        self.apps[provider].inject_fault(path_regex, **fault)

    def clear_faults(self) -> None:
        for app in self.apps.values():
            app.clear_faults()

    def reset(self) -> None:
        for app in self.apps.values():
            app.reset()
