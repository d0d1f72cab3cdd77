"""Django settings, driven entirely by the root `.env` (see `prixagent.config`)."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import environ

from prixagent.config import BASE_DIR, ENV_FILE, load_config

if ENV_FILE.exists():
    # overwrite=False: real environment variables win over the file.
    environ.Env.read_env(str(ENV_FILE), overwrite=False)

CONFIG = load_config(os.environ)
env = environ.Env()

# --- Core -------------------------------------------------------------------------------
NODE_ENV = CONFIG.environment
DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.session_secret
ALLOWED_HOSTS = CONFIG.allowed_hosts
ROOT_URLCONF = "prixagent.urls"
WSGI_APPLICATION = "prixagent.wsgi.application"
ASGI_APPLICATION = "prixagent.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Which surface this process serves ("all", "public", "landing", "client", "admin", "api",
# "agency"): PRIXAGENT_SURFACE, set by `manage.py serve <surface>`; see prixagent.surfaces.
# Production never serves "all", and without the variable serves "public" (no admin).
SURFACE = CONFIG.surface
PORTS = CONFIG.ports
API_URL = CONFIG.api_url
WS_URL = CONFIG.ws_url
PROVIDER_BASE_URLS = CONFIG.provider_base_urls
# Seconds a provider call may take before it counts as a transient failure.
PROVIDER_TIMEOUT_SECONDS = 10

INSTALLED_APPS = [
    "daphne",  # first: `runserver` (so `make run`) serves ASGI, WebSockets included
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_otp",  # the admin's second factor (accounts.mfa)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "prixagent",
    "accounts",
    "integrations",
    "contacts",
    "webhooks",
    "billing",
    "realtime",
    "agents",
    "calls",
    "campaigns",
]
if CONFIG.environment == "test":
    # A second model with encrypted columns (row-bound associated data), for the field's tests.
    INSTALLED_APPS.append("tests.prixagent.sealed")
if not CONFIG.production:
    # The provider sandbox is a development and test tool, never part of a production server.
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "prixagent.logging.RequestIdMiddleware",
    "prixagent.nostore.NoStoreMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "prixagent.csp.CachedCSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After every middleware that adds security headers: its 404 for another surface's path
    # must carry HSTS, CSP, X-Frame-Options and nosniff like any other response.
    "prixagent.surfaces.SurfaceMiddleware",
    # 413 for an oversized body and 400 for a NUL in the query, before anything reads them.
    "prixagent.errors.RequestGuardMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.AccountStatusMiddleware",
    "prixagent.errors.ApiErrorMiddleware",
]

if CONFIG.production:
    # Static files from `collectstatic`, served by the app itself (no CDN, no extra server).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "prixagent.context_processors.realtime",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {"default": env.db_url_config(CONFIG.database_url)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded database of `make run`: its directory must exist before the first connect.
    os.makedirs(os.path.dirname(DATABASES["default"]["NAME"]), exist_ok=True)
    # The web process and its in-process background work share the file: wait for a writer
    # instead of failing with "database is locked", and take the write lock when a transaction
    # starts (no deadlock upgrading a read lock).
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Under the test runner, threads (WebSocket consumers, concurrency tests) must not keep
    # connections open past their work, or the test database cannot be dropped at the end of the
    # run. Servers started with NODE_ENV=test (benchmarks, worker subprocesses) keep theirs.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if "pytest" in sys.modules else 60
    # No per-request health check: it is an extra `SELECT 1` round trip on every request (a
    # fifth of an API request's time, bench/api_stack.py). A connection broken by a database
    # restart fails the one request that finds it, and Django then drops it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

# --- Cache, broker ------------------------------------------------------------------------
REDIS_URL = CONFIG.redis_url
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"prixagent-{NODE_ENV}",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Live events (realtime/): through Redis between processes, in memory within one.
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    if REDIS_URL
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}
CELERY_BROKER_URL = REDIS_URL or "memory://"
# No broker configured: tasks run in-process, so `make run` needs nothing installed. The test
# suite also runs tasks in-process unless a test starts real workers (they set
# PRIXAGENT_CELERY_EAGER=0 in the workers' and the test's environment).
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or (
    NODE_ENV == "test" and os.environ.get("PRIXAGENT_CELERY_EAGER", "1") == "1"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Workers keep Django's LOGGING (request ids, the secret scrubber) instead of Celery's own root
# logger setup, which would drop the scrubbing filter.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Ten priority levels on Redis (0 first): the dialer sends each campaign's n-th dial at level n,
# so with busy workers every tenant's first call goes before anyone's second (fair share). One
# message prefetched per worker process, so priorities hold and a slow dial holds nothing back.
CELERY_BROKER_TRANSPORT_OPTIONS = {"priority_steps": list(range(10)), "sep": ":", "queue_order_strategy": "priority"}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# --- Auth, passwords, sessions ------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if NODE_ENV == "test":
    # Argon2 with its production cost makes each test user take ~50 ms; same format, minimal cost.
    PASSWORD_HASHERS.insert(0, "prixagent.hashers.TestArgon2PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
ADMIN_EMAIL = CONFIG.admin_email
ADMIN_PASSWORD = CONFIG.admin_password
SESSION_COOKIE_AGE = CONFIG.session_expires_in
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Staff pass a TOTP code before any admin page: always in production; elsewhere only staff
# who enrolled a device (accounts.mfa), so `make run` lets the generated admin straight in.
ADMIN_MFA_REQUIRED = CONFIG.production
OTP_TOTP_ISSUER = "PrixAgent"
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "landing"

# --- Encryption of tenant credentials -----------------------------------------------------
ENCRYPTION_KEY = CONFIG.encryption_key
ENCRYPTION_RETIRED_KEYS = CONFIG.retired_encryption_keys

# --- Platform provider accounts (the platform's own, not tenants') -------------------------
ELEVENLABS_API_KEY = CONFIG.elevenlabs_api_key
ELEVENLABS_VOICE_ID = CONFIG.elevenlabs_voice_id
PAYPAL_CLIENT_ID = CONFIG.paypal_client_id
PAYPAL_SECRET = CONFIG.paypal_secret
PAYPAL_MODE = CONFIG.paypal_mode
# Our webhook's id in the PayPal developer app: PayPal's verify-webhook-signature needs it.
PAYPAL_WEBHOOK_ID = CONFIG.paypal_webhook_id

# --- REST API -----------------------------------------------------------------------------
RATE_LIMIT_WINDOW_SECONDS = CONFIG.rate_limit_window * 60
RATE_LIMIT_MAX_REQUESTS = CONFIG.rate_limit_max_requests
# Login attempts are limited far more tightly than ordinary requests (prixagent.throttling):
# attempts per IP, failures per (email, IP) before that pair is locked for the window, and
# failures per email (all IPs) before each further attempt waits 1 s, 2 s, 4 s ... up to the max.
LOGIN_ATTEMPTS_PER_IP = 20
LOGIN_FAILURES_PER_EMAIL_IP = 5
LOGIN_ATTEMPTS_PER_EMAIL = 5
LOGIN_DELAY_MAX_SECONDS = 60
LOGIN_KNOWN_IP_DAYS = 30
PASSWORD_RESETS_PER_EMAIL = 3
# How many proxies in front of the app append to X-Forwarded-For (prixagent.throttling.client_ip).
TRUSTED_PROXY_COUNT = CONFIG.trusted_proxy_count
# The public base URL of the dashboard: every link in an email is built from it, never from Host.
APP_URL = CONFIG.app_url

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",  # simplejwt's + "log out everywhere"
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["prixagent.throttling.PlatformRateThrottle"],
    # JSON that is too deep or holds NUL / lone surrogates is a 400 (prixagent.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "prixagent.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "prixagent.pagination.CountSavingLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "prixagent.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

# Refresh tokens are signed with a key of their own (accounts.tokens.RefreshToken).
JWT_REFRESH_SECRET = CONFIG.jwt_refresh_secret
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": CONFIG.jwt_secret,
    "ISSUER": CONFIG.jwt_issuer,
    "AUDIENCE": CONFIG.jwt_audience,
    "ACCESS_TOKEN_LIFETIME": CONFIG.jwt_expires_in,
    "REFRESH_TOKEN_LIFETIME": CONFIG.jwt_refresh_expires_in,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # A password change revokes every token issued before it.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
    "USER_ID_FIELD": "id",
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.TokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PrixAgent API",
    "DESCRIPTION": "AI voice agents on the phone: accounts, integrations, contacts, campaigns, calls.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI is served from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by several fields (else drf-spectacular warns).
    "ENUM_NAME_OVERRIDES": {
        "AgentToolEnum": "agents.models.Tool",
        "CallStatusEnum": "calls.models.Status",
        "CallOutcomeEnum": "calls.models.Outcome",
        "CallSourceEnum": "calls.models.Call.Source",
        "CallDirectionEnum": "calls.models.Call.Direction",
        "BookingStatusEnum": "agents.models.Booking.Status",
        "CampaignStateEnum": "campaigns.models.Campaign.State",
        "CampaignTargetEnum": "campaigns.models.Campaign.Target",
        "CampaignMemberStateEnum": "campaigns.models.MemberState",
        "CampaignSkipReasonEnum": "campaigns.models.SkipReason",
    },
}

# --- CORS / CSRF --------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = CONFIG.cors_origins
CORS_URLS_REGEX = r"^/(api|healthz).*$"
CSRF_TRUSTED_ORIGINS = CONFIG.cors_origins

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 86400
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if CONFIG.production
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Contacts -----------------------------------------------------------------------------
# Where CSV uploads wait for their import (each is deleted when its import ends). Private: no
# URL serves this directory. With Celery workers on other machines it must be a shared volume.
CONTACTS_UPLOAD_DIR = env("CONTACTS_UPLOAD_DIR", default=str(BASE_DIR / "var" / "uploads" / "contacts"))

# --- Email --------------------------------------------------------------------------------
vars().update(env.email_url_config(CONFIG.email_url))
DEFAULT_FROM_EMAIL = CONFIG.default_from_email

# --- Security -----------------------------------------------------------------------------
# Functions holding decrypted secrets are `sensitive_variables`: hidden in crash reports also
# under DEBUG (Django's own filter is off when DEBUG is on).
DEFAULT_EXCEPTION_REPORTER_FILTER = "prixagent.errors.SafeExceptionReporterFilter"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"


# The pages load nothing from elsewhere and run no inline script or style, so the policy is
# strict: only our own static files. `data:` images are the icons inside Swagger UI's CSS.
def _ws_origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        # 'self' covers a same-origin WebSocket (`make run`); WS_URL's origin covers the API
        # surface's /ws/ when surfaces run on their own ports.
        "connect-src": ["'self'", _ws_origin(WS_URL)],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = CONFIG.production
if CONFIG.production:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host-: the browser accepts these cookies only over https, for this exact host, path /,
    # so neither a sibling subdomain nor a plain-http response can set or shadow them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = CONFIG.log_level.upper()
LOG_FILE_PATH = CONFIG.log_file_path
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "prixagent.logging.RequestIdFilter"},
        "redact": {"()": "prixagent.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request_id", "redact"],
        },
        "file": {
            "class": "prixagent.logging.LazyRotatingFileHandler",
            "filename": str(LOG_FILE_PATH / "prixagent.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "formatter": "line",
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The SDK logs every request URL at INFO; URLs carry tenant account SIDs.
        "twilio.http_client": {"level": "WARNING"},
        # One line per task run (the outbox relay runs every 15 s): only failures are news.
        "celery.app.trace": {"level": "WARNING"},
    },
}
