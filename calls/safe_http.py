"""POSTing to a URL a tenant typed, without letting it reach our own network (SSRF).

A tenant's webhook URL could name `169.254.169.254` (cloud metadata), `localhost:6379`, a
`10.x` service, or a public name whose DNS answer later changes to one of those (rebinding).
So, at every delivery:

1. The URL must be `https://` (plain `http://` only where settings allow it, i.e. tests), with
   no credentials in it.
2. The host is resolved **now**, and every address it resolves to must be global unicast: not
   private, loopback, link-local, multicast, reserved, unspecified, CGNAT or an IPv4-mapped /
   6to4 form of those. One bad address refuses the delivery.
3. The connection goes to the address that was checked (not to the name again, so a second
   DNS answer cannot swap it), with the original host name in `Host`, in the TLS server name
   and in the certificate check. Redirects are not followed; only the first bytes of the
   answer are read.

`TENANT_WEBHOOKS_ALLOW_PRIVATE` / `TENANT_WEBHOOKS_ALLOW_HTTP` (settings, never `.env`) exist
only so tests can run a receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3
from django.conf import settings

Resolver = Callable[[str, int], list[str]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
EXCERPT = 300
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class Refused(Exception):
    """The destination is not allowed. The message says why (shown in the delivery log)."""


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def _private_ok() -> bool:
    return bool(getattr(settings, "TENANT_WEBHOOKS_ALLOW_PRIVATE", False))


def _http_ok() -> bool:
    return bool(getattr(settings, "TENANT_WEBHOOKS_ALLOW_HTTP", False))


def _unwrapped(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def address_allowed(ip: IP) -> bool:
    ip = _unwrapped(ip)
    if _private_ok() and (ip.is_loopback or ip.is_private):
        return True
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_unspecified
    )


def check_url(url: str) -> SplitResult:
    """The URL's parts, or `Refused` (scheme, credentials, host name, a literal address)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise Refused("not a URL") from None
    allowed = ("https", "http") if _http_ok() else ("https",)
    if parts.scheme not in allowed:
        raise Refused("the URL must start with https://")
    if parts.username or parts.password:
        raise Refused("the URL must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Refused("the URL has no host")
    if port == 0:
        raise Refused("the URL has no usable port")
    literal = _literal(host)
    if literal is not None:
        if not address_allowed(literal):
            raise Refused(f"{host} is not a public address")
    elif not _private_ok() and (host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or "." not in host):
        raise Refused(f"{host} is a local name")
    return parts


def _literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(host: str, port: int, resolver: Resolver | None = None) -> str:
    """The address to connect to; `Refused` when any address of `host` is not allowed."""
    try:
        addresses = (resolver or system_resolver)(host, port)
    except OSError as exc:
        raise Refused(f"{host} does not resolve ({exc.strerror or exc})") from None
    if not addresses:
        raise Refused(f"{host} does not resolve")
    for address in addresses:
        ip = _literal(address.split("%")[0])
        if ip is None or not address_allowed(ip):
            raise Refused(f"{host} resolves to {address}, which is not a public address")
    return addresses[0]


def post(url: str, *, body: bytes, headers: dict[str, str], resolver: Resolver | None = None) -> Answer:
    """POST `body` to `url` (see the module docstring). Raises `Refused`, or `OSError`/`urllib3`
    errors for transport failures (the caller logs them as a failed attempt)."""
    parts = check_url(url)
    https = parts.scheme == "https"
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if https else 80)
    address = resolve(host, port, resolver)
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if https:
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header, "Content-Length": str(len(body))},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(EXCERPT, decode_content=False)
        finally:
            response.release_conn()
            response.close()
    finally:
        pool.close()
    return Answer(response.status, excerpt.decode("utf-8", "replace"))
