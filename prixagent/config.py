"""Platform configuration: the one root `.env`, parsed and validated once.

Settings call `load_config()`; everything that can be wrong with `.env` is found here
and reported as a `ConfigError` naming the variable and the fix, so start-up fails with
one readable line instead of a traceback deep inside Django. Real environment variables
override `.env` (django-environ's `read_env(overwrite=False)`), and no other file is read.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"

ENVIRONMENTS = ("development", "production", "test")
KEYGEN_COMMAND = 'python -c "import secrets; print(secrets.token_hex(32))"'
SECRETGEN_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
LOCAL_TEST_DATABASE = "postgresql://postgres@127.0.0.1:5432/prixagent"
LOCAL_TEST_REDIS = "redis://127.0.0.1:6379/15"

# Values copied from the seed's .env.example: fine to start from, never fine to run with.
PLACEHOLDERS = {
    "your-32-character-encryption-key-here",
    "your-super-secret-jwt-key-change-in-production",
    "your-jwt-secret-key-min-32-characters",
    "your-refresh-token-secret",
    "your-session-secret-key",
    "your-secure-password",
    "admin123",
    "your-elevenlabs-api-key",
    "your-default-voice-id",
    "your-paypal-client-id",
    "your-paypal-secret",
}
WEAK_ADMIN_PASSWORDS = {"admin123", "admin", "password", "changeme", "your-secure-password"}
MIN_ADMIN_PASSWORD_LENGTH = 12
MIN_PRODUCTION_SECRET_LENGTH = 50
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# An access token cannot be revoked before it expires (logout blacklists refresh tokens only),
# so its lifetime is kept short; a refresh token renews it.
MAX_ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
SURFACE_NAMES = ("landing", "client", "admin", "agency", "api")
# "public": every surface except the admin. What a production process serves when it was started
# without PRIXAGENT_SURFACE, so a forgotten variable can never put the admin on a public port.
PUBLIC_SURFACE = "public"
PROVIDER_NAMES = ("twilio", "elevenlabs", "ghl", "calcom", "paypal")
# Host names that always mean "this machine or its network", whatever DNS says.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """A `.env` value is missing or wrong. The message names the variable and the fix."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


def parse_duration(variable: str, raw: str) -> timedelta:
    """`24h`, `7d`, `15m`, `30s` or a plain number of seconds."""
    match = _DURATION.match(raw or "")
    if not match or int(match.group(1)) == 0:
        raise ConfigError(variable, f"{raw!r} is not a duration; write a number with s, m, h, d or w, e.g. 24h")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_key(variable: str, raw: str) -> bytes:
    """An AES-256 key: 32 bytes written as 64 hex characters (the seed's generator)."""
    value = (raw or "").strip()
    if not value or value in PLACEHOLDERS:
        raise ConfigError(
            variable, f"set a real key (32 bytes as 64 hex characters); generate one with: {KEYGEN_COMMAND}"
        )
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ConfigError(
            variable,
            f"must be 32 bytes written as 64 hex characters (got {len(value)} characters); "
            f"generate one with: {KEYGEN_COMMAND}",
        )
    key = bytes.fromhex(value)
    if len(set(key)) < 8:
        raise ConfigError(variable, f"looks hand-made, not random; generate one with: {KEYGEN_COMMAND}")
    return key


def _int(variable: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(variable, f"{raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(variable, f"must be at least {minimum}")
    return value


def _url(variable: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(variable, f"{raw!r} is not an http(s) URL, e.g. https://app.example.com/api/v1")
    return raw.strip().rstrip("/")


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name *literally* is (also the shorthand forms like 127.1 or 2130706433
    that the C resolver accepts), or None for a real name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_internal_host(host: str) -> bool:
    """Loopback, private, link-local or otherwise non-public: a literal address or an obvious name.

    Names are not resolved (start-up must not depend on DNS); the names and suffixes that only
    ever mean a local machine are refused outright.
    """
    host = host.strip().rstrip(".").lower()
    if not host or host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES):
        return True
    address = _literal_ip(host)
    if address is None:
        return "." not in host  # a bare name ("sandbox", "db") resolves on the local network only
    return not address.is_global or address.is_multicast


def _provider_base_url(variable: str, raw: str, environment: str) -> str:
    """A provider override (the sandbox in development). In production it would receive every
    tenant's credentials, so it must be https and on a public host."""
    value = raw.strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, f"{value!r} is not an http(s) URL; leave it empty for the real provider")
    if environment == "production":
        if parts.scheme != "https":
            raise ConfigError(variable, "must be an https:// URL in production, or empty for the real provider")
        if is_internal_host(parts.hostname):
            raise ConfigError(
                variable,
                f"points at {parts.hostname}, a local or private address; in production leave it empty "
                "(the real provider): tenants' credentials would be sent there",
            )
    return value


def _surface(env: Mapping[str, str], environment: str) -> str:
    surface = env.get("PRIXAGENT_SURFACE", "").strip().lower()
    allowed = (*SURFACE_NAMES, PUBLIC_SURFACE, "all")
    if surface and surface not in allowed:
        raise ConfigError("PRIXAGENT_SURFACE", f"{surface!r} must be one of {', '.join(allowed)}")
    if environment != "production":
        return surface or "all"
    if surface == "all":
        raise ConfigError(
            "PRIXAGENT_SURFACE",
            "all is for development; in production run the admin in its own process "
            "(PRIXAGENT_SURFACE=admin on ADMIN_PORT) and the rest with public or one surface each",
        )
    return surface or PUBLIC_SURFACE


def _access_lifetime(env: Mapping[str, str]) -> timedelta:
    lifetime = parse_duration("JWT_EXPIRES_IN", env.get("JWT_EXPIRES_IN", "15m"))
    if lifetime > MAX_ACCESS_TOKEN_LIFETIME:
        raise ConfigError(
            "JWT_EXPIRES_IN",
            f"must be at most 1h (an access token cannot be revoked before it expires); got {env['JWT_EXPIRES_IN']}, "
            "e.g. 15m",
        )
    return lifetime


def _origins(variable: str, raw: str) -> list[str]:
    origins = [o.strip().rstrip("/") for o in (raw or "").split(",") if o.strip()]
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError(variable, f"{origin!r} is not an origin like https://app.example.com")
    return origins


@dataclass(frozen=True)
class Config:
    environment: str
    surface: str
    ports: dict[str, int]
    database_url: str
    admin_email: str
    admin_password: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    jwt_expires_in: timedelta
    jwt_issuer: str
    jwt_audience: str
    jwt_refresh_secret: str = field(repr=False)
    jwt_refresh_expires_in: timedelta
    api_url: str
    ws_url: str
    cors_origins: list[str]
    encryption_key: bytes = field(repr=False)
    retired_encryption_keys: tuple[bytes, ...] = field(repr=False)
    elevenlabs_api_key: str = field(repr=False)
    elevenlabs_voice_id: str
    paypal_client_id: str
    paypal_secret: str = field(repr=False)
    paypal_mode: str
    paypal_webhook_id: str
    session_secret: str = field(repr=False)
    session_expires_in: int
    log_level: str
    log_file_path: Path
    rate_limit_window: int
    rate_limit_max_requests: int
    redis_url: str
    email_url: str
    default_from_email: str
    # Accounts and auth: which proxies to trust for the client IP, where links in emails point.
    trusted_proxy_count: int
    app_url: str
    allowed_hosts: list[str]
    provider_base_urls: dict[str, str]

    @property
    def debug(self) -> bool:
        return self.environment == "development"

    @property
    def production(self) -> bool:
        return self.environment == "production"


def _secret(env: Mapping[str, str], variable: str, environment: str, generated: dict[str, str]) -> str:
    value = env.get(variable, "").strip()
    if environment == "test" and not value:
        # Tests need no .env: each run gets fresh throwaway secrets.
        value = generated.setdefault(variable, secrets.token_urlsafe(48))
    if not value or value in PLACEHOLDERS:
        raise ConfigError(variable, f"set a random secret; generate one with: {SECRETGEN_COMMAND}")
    if environment == "production" and len(value) < MIN_PRODUCTION_SECRET_LENGTH:
        raise ConfigError(
            variable,
            f"is too short for production (min {MIN_PRODUCTION_SECRET_LENGTH} characters); "
            f"generate one with: {SECRETGEN_COMMAND}",
        )
    return value


def admin_password_is_weak(password: str) -> bool:
    return (
        password.lower() in WEAK_ADMIN_PASSWORDS
        or password in PLACEHOLDERS
        or len(password) < MIN_ADMIN_PASSWORD_LENGTH
    )


def _admin_password(env: Mapping[str, str], environment: str) -> str:
    password = env.get("ADMIN_PASSWORD", "")
    if environment == "production" and admin_password_is_weak(password):
        raise ConfigError(
            "ADMIN_PASSWORD",
            f"is weak or a placeholder; production needs at least {MIN_ADMIN_PASSWORD_LENGTH} characters "
            "that are not a default like admin123",
        )
    return password


def _encryption_keys(
    env: Mapping[str, str], environment: str, generated: dict[str, str]
) -> tuple[bytes, tuple[bytes, ...]]:
    algorithm = env.get("ENCRYPTION_ALGORITHM", "aes-256-gcm").strip().lower()
    if algorithm != "aes-256-gcm":
        raise ConfigError("ENCRYPTION_ALGORITHM", f"{algorithm!r} is not supported; the only algorithm is aes-256-gcm")
    raw = env.get("ENCRYPTION_KEY", "").strip()
    if environment == "test" and not raw:
        raw = generated.setdefault("ENCRYPTION_KEY", secrets.token_hex(32))
    key = parse_key("ENCRYPTION_KEY", raw)
    retired = tuple(
        parse_key("ENCRYPTION_RETIRED_KEYS", item)
        for item in env.get("ENCRYPTION_RETIRED_KEYS", "").split(",")
        if item.strip()
    )
    if key in retired or len(set(retired)) != len(retired):
        raise ConfigError(
            "ENCRYPTION_RETIRED_KEYS", "lists the current ENCRYPTION_KEY or the same key twice; list each old key once"
        )
    return key, retired


def _database_url(env: Mapping[str, str], environment: str) -> str:
    url = env.get("DATABASE_URL", "").strip()
    if environment == "test" and not url.startswith(("postgres://", "postgresql://")):
        return LOCAL_TEST_DATABASE  # the suite always runs on PostgreSQL
    if not url:
        return f"sqlite:///{BASE_DIR / 'var' / 'prixagent.sqlite3'}"
    if not re.match(r"^(postgres|postgresql|sqlite)://", url):
        raise ConfigError(
            "DATABASE_URL", "must be postgresql://user:password@host:port/database (or empty for the embedded SQLite)"
        )
    return url


MAX_TRUSTED_PROXIES = 5


def _auth_settings(env: Mapping[str, str], environment: str, api_url: str) -> tuple[int, str]:
    """TRUSTED_PROXY_COUNT and APP_URL.

    Production runs behind a TLS-terminating proxy (it already trusts its X-Forwarded-Proto),
    so there the count defaults to 1; elsewhere clients connect directly. APP_URL is the public
    base of the dashboard, used for every link in an email; it defaults to API_URL's origin,
    which under `make run` is the one port that serves everything.
    """
    default_count = "1" if environment == "production" else "0"
    count = _int("TRUSTED_PROXY_COUNT", env.get("TRUSTED_PROXY_COUNT", "").strip() or default_count, 0)
    if count > MAX_TRUSTED_PROXIES:
        raise ConfigError(
            "TRUSTED_PROXY_COUNT", f"{count} proxies in front of the app is not plausible; count the hops (max 5)"
        )
    api = urlsplit(api_url)
    app_url = _url("APP_URL", env.get("APP_URL", "").strip() or f"{api.scheme}://{api.netloc}")
    if urlsplit(app_url).path not in ("", "/"):
        raise ConfigError("APP_URL", f"{app_url!r} must be an origin without a path, e.g. https://app.example.com")
    if environment == "production" and not app_url.startswith("https://"):
        raise ConfigError("APP_URL", "must be an https:// URL in production (password-reset and invitation links)")
    return count, app_url


_generated_test_secrets: dict[str, str] = {}


def load_config(env: Mapping[str, str]) -> Config:
    """Validate `env` (the merged `.env` and process environment) into a `Config`."""
    environment = env.get("NODE_ENV", "development").strip().lower() or "development"
    if environment not in ENVIRONMENTS:
        raise ConfigError("NODE_ENV", f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    generated = _generated_test_secrets
    port = _int("PORT", env.get("PORT") or env.get("LANDING_PORT") or "3000", 1)
    ports = {
        "landing": port,
        "client": _int("CLIENT_PORT", env.get("CLIENT_PORT", "3001"), 1),
        "admin": _int("ADMIN_PORT", env.get("ADMIN_PORT", "3002"), 1),
        "agency": _int("AGENCY_PORT", env.get("AGENCY_PORT", "3003"), 1),
        "api": _int("API_PORT", env.get("API_PORT", "3004"), 1),
    }
    session_secret = _secret(env, "SESSION_SECRET", environment, generated)
    jwt_secret = _secret(env, "JWT_SECRET", environment, generated)
    jwt_refresh_secret = _secret(env, "JWT_REFRESH_SECRET", environment, generated)
    if len({session_secret, jwt_secret, jwt_refresh_secret}) != 3:
        raise ConfigError(
            "JWT_REFRESH_SECRET", "SESSION_SECRET, JWT_SECRET and JWT_REFRESH_SECRET must all be different"
        )
    key, retired = _encryption_keys(env, environment, generated)
    if key.hex() in (session_secret.lower(), jwt_secret.lower(), jwt_refresh_secret.lower()):
        raise ConfigError("ENCRYPTION_KEY", "must not be reused as a session or JWT secret")
    paypal_mode = env.get("PAYPAL_MODE", "sandbox").strip().lower()
    if paypal_mode not in ("sandbox", "live"):
        raise ConfigError("PAYPAL_MODE", f"{paypal_mode!r} must be sandbox or live")
    paypal_webhook_id = env.get("PAYPAL_WEBHOOK_ID", "").strip()
    if paypal_webhook_id and not re.fullmatch(r"[A-Za-z0-9-]{4,64}", paypal_webhook_id):
        raise ConfigError("PAYPAL_WEBHOOK_ID", "is not a PayPal webhook id (letters and digits)")
    if environment == "production" and env.get("PAYPAL_CLIENT_ID", "").strip() and not paypal_webhook_id:
        raise ConfigError(
            "PAYPAL_WEBHOOK_ID", "must be set in production with PAYPAL_CLIENT_ID (webhook of /webhooks/paypal/)"
        )
    log_level = env.get("LOG_LEVEL", "info").strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{log_level!r} must be one of {', '.join(LOG_LEVELS)}")
    # Unset, they name the one-port development server (`make run` serves every surface on PORT),
    # so the webhooks handed to the provider sandbox reach it; production sets both (https).
    api_url = _url("API_URL", env.get("API_URL") or f"http://localhost:{ports['landing']}/api/v1")
    ws_url = env.get("WS_URL", "").strip() or f"http://localhost:{ports['landing']}"
    if urlsplit(ws_url).scheme not in ("http", "https", "ws", "wss"):
        raise ConfigError("WS_URL", f"{ws_url!r} is not an http(s) or ws(s) URL")
    if environment == "production" and not api_url.startswith("https://"):
        raise ConfigError("API_URL", "must be an https:// URL in production (providers call webhooks built from it)")
    trusted_proxy_count, app_url = _auth_settings(env, environment, api_url)
    log_path = Path(env.get("LOG_FILE_PATH", "./logs").strip() or "./logs")
    hosts = [h.strip() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    hosts.append(urlsplit(api_url).hostname or "localhost")
    if environment != "production":
        hosts += ["localhost", "127.0.0.1", "[::1]", "testserver"]
    return Config(
        environment=environment,
        surface=_surface(env, environment),
        ports=ports,
        database_url=_database_url(env, environment),
        admin_email=env.get("ADMIN_EMAIL", "").strip().lower(),
        admin_password=_admin_password(env, environment),
        jwt_secret=jwt_secret,
        jwt_expires_in=_access_lifetime(env),
        jwt_issuer=env.get("JWT_ISSUER", "prixagent-saas").strip(),
        jwt_audience=env.get("JWT_AUDIENCE", "prixagent-users").strip(),
        jwt_refresh_secret=jwt_refresh_secret,
        jwt_refresh_expires_in=parse_duration("JWT_REFRESH_EXPIRES_IN", env.get("JWT_REFRESH_EXPIRES_IN", "7d")),
        api_url=api_url,
        ws_url=ws_url.rstrip("/"),
        cors_origins=_origins("CORS_ORIGIN", env.get("CORS_ORIGIN", "")),
        encryption_key=key,
        retired_encryption_keys=retired,
        elevenlabs_api_key=env.get("ELEVENLABS_API_KEY", "").strip(),
        elevenlabs_voice_id=env.get("ELEVENLABS_VOICE_ID", "").strip(),
        paypal_client_id=env.get("PAYPAL_CLIENT_ID", "").strip(),
        paypal_secret=env.get("PAYPAL_SECRET", "").strip(),
        paypal_mode=paypal_mode,
        paypal_webhook_id=paypal_webhook_id,
        session_secret=session_secret,
        session_expires_in=_int("SESSION_EXPIRES_IN", env.get("SESSION_EXPIRES_IN", "86400"), 60),
        log_level=log_level,
        log_file_path=log_path if log_path.is_absolute() else BASE_DIR / log_path,
        rate_limit_window=_int("RATE_LIMIT_WINDOW", env.get("RATE_LIMIT_WINDOW", "15"), 1),
        rate_limit_max_requests=_int("RATE_LIMIT_MAX_REQUESTS", env.get("RATE_LIMIT_MAX_REQUESTS", "100"), 1),
        redis_url=env.get("REDIS_URL", "").strip() or (LOCAL_TEST_REDIS if environment == "test" else ""),
        email_url=env.get("EMAIL_URL", "").strip() or "consolemail://",
        default_from_email=env.get("DEFAULT_FROM_EMAIL", "").strip() or "PrixAgent <no-reply@localhost>",
        trusted_proxy_count=trusted_proxy_count,
        app_url=app_url,
        allowed_hosts=sorted(set(hosts)),
        provider_base_urls={
            name: _provider_base_url(f"{name.upper()}_BASE_URL", env.get(f"{name.upper()}_BASE_URL", ""), environment)
            for name in PROVIDER_NAMES
        },
    )
