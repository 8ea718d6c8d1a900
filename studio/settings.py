"""Studio settings: everything comes from the environment, with embedded defaults
that run on one machine with no services (SQLite, files under var/, an embedded
Celery broker, the local VideoGen sandbox)."""

import ipaddress
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from studio.videogen.ratelimit import documented_table as documented_rate_limits
from studio.videogen.ratelimit import parse_limits as parse_rate_limits

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def database_from_url(url: str) -> dict:
    """DATABASE_URL through dj-database-url, query options (``?sslmode=require``) included.
    SQLite keeps the options the shared file needs; a URL's own options win."""
    try:
        config = dj_database_url.parse(
            url, conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    except ValueError as exc:  # an unknown scheme
        raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return sqlite_database(config["NAME"], options=config.get("OPTIONS", {}))
    return config


def sqlite_database(path: str | Path, options: dict | None = None) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # web, worker and beat share one file: WAL lets readers run beside the
        # writer, IMMEDIATE avoids lock upgrades that fail instead of waiting.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            **(options or {}),
        },
        "TEST": {"NAME": VAR_DIR / "test-db.sqlite3"},
    }


# Created at startup (studio.ops.apps), not when settings are imported.
VAR_DIR = Path(envstr("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DJANGO_DEBUG", True)
SECRET_KEY = envstr("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
ALLOWED_HOSTS = [h for h in envstr("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "template_partials",
    "studio.ops",
    "studio.accounts",
    "studio.audit",
    "studio.teams",
    "studio.generations",
    "studio.discussion",
    "studio.gallery",
    "studio.webhooks",
    "studio.review",
    "studio.live",
    "axes",
]

MIDDLEWARE = [
    "studio.ops.limits.RequestBodyLimitMiddleware",
    "studio.ops.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.teams.middleware.CurrentTeamMiddleware",
    "studio.ops.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

FORM_RENDERER = "studio.forms.StudioFormRenderer"
ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.ops.csp.csp_nonce",
                "studio.live.context.live",
            ],
        },
    }
]

DATABASE_URL = envstr("DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else sqlite_database(VAR_DIR / "studio.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a sign-in while its username or address is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): after this many failures for a username, or
# from an address, further attempts are refused for the cool-off. Lockouts are
# listed in the admin ("Access attempts"), where staff lift them by deleting them.
AXES_FAILURE_LIMIT = envint("STUDIO_SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("STUDIO_SIGNIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "studio.accounts.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "studio.accounts.throttle.client_ip"
AXES_VERBOSE = False
# Proxies in front of Studio that append to X-Forwarded-For (0: use the peer address).
STUDIO_TRUSTED_PROXIES = envint("STUDIO_TRUSTED_PROXIES", 0)
# Sign-ups per address and hour.
STUDIO_SIGNUP_LIMIT = envint("STUDIO_SIGNUP_LIMIT", 10)
STUDIO_SIGNUP_WINDOW = envint("STUDIO_SIGNUP_WINDOW", 3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studio"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# S3-compatible media when a bucket is configured (pip install -e '.[s3]').
STUDIO_S3_BUCKET = envstr("STUDIO_S3_BUCKET")
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STUDIO_S3_BUCKET,
            "endpoint_url": envstr("STUDIO_S3_ENDPOINT_URL") or None,
            "region_name": envstr("STUDIO_S3_REGION") or None,
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
    if STUDIO_S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email (invitations, password reset): printed to the console unless SMTP is configured.
EMAIL_BACKEND = envstr("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DJANGO_DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")

# Security headers.
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The Content Security Policy (django-csp) on every response that has none of its own
# (media responses send a stricter one). Scripts and styles from our origin, the inline
# ones only with the response's nonce: htmx learns it from the htmx-config meta tag.
STUDIO_CSP_IMG_ORIGINS = [o for o in envstr("STUDIO_CSP_IMG_ORIGINS").split(",") if o]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # blob: for the previews of chosen reference images.
        "img-src": [SELF, "data:", "blob:", *STUDIO_CSP_IMG_ORIGINS],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
STUDIO_HEALTH_TIMEOUT = envfloat("STUDIO_HEALTH_TIMEOUT", 2.0)
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading binds the whole domain to HTTPS for a long time: opt in per
    # deployment; until then the reminder check is silenced on purpose.
    SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if envbool("DJANGO_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Media is never served as plain files: every byte goes through a view that
# checks team membership (studio.gallery.views.media).
MEDIA_ROOT = Path(envstr("STUDIO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-files/"

# Uploads: four references of up to 10 MB each, plus the form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
STUDIO_MAX_REFERENCE_BYTES = envint("STUDIO_MAX_REFERENCE_BYTES", 10 * 1024 * 1024)
# The whole request body: four references and the form; larger is a 413 before reading.
STUDIO_MAX_REQUEST_BYTES = envint(
    "STUDIO_MAX_REQUEST_BYTES", 4 * STUDIO_MAX_REFERENCE_BYTES + 1024 * 1024
)
STUDIO_MAX_REFERENCE_PIXELS = envint("STUDIO_MAX_REFERENCE_PIXELS", 40_000_000)
STUDIO_MAX_RESULT_BYTES = envint("STUDIO_MAX_RESULT_BYTES", 200 * 1024 * 1024)
STUDIO_MAX_RESULT_PIXELS = envint("STUDIO_MAX_RESULT_PIXELS", 200_000_000)
# Cost before submit: a price per image (a decimal, e.g. "0.04") shows money on the
# form and the usage page; empty: images only.
_price = envstr("STUDIO_PRICE_PER_IMAGE")
try:
    STUDIO_PRICE_PER_IMAGE = Decimal(_price) if _price else None
except InvalidOperation:
    raise ImproperlyConfigured("STUDIO_PRICE_PER_IMAGE must be a decimal number") from None
STUDIO_CURRENCY = envstr("STUDIO_CURRENCY", "USD")
# The daily notification digest goes out at this hour (TIME_ZONE), to those who asked.
STUDIO_DIGEST_HOUR = envint("STUDIO_DIGEST_HOUR", 7)
STUDIO_GALLERY_PAGE_SIZE = envint("STUDIO_GALLERY_PAGE_SIZE", 48)
# Deleted generations and images can be restored from the Trash for this long.
STUDIO_TRASH_DAYS = envint("STUDIO_TRASH_DAYS", 30)
STUDIO_THUMBNAIL_SIZE = envint("STUDIO_THUMBNAIL_SIZE", 512)

# VideoGen. With no API key the studio talks to the local sandbox.
VIDEOGEN_SANDBOX_URL = envstr("VIDEOGEN_SANDBOX_URL", "http://127.0.0.1:8100")
VIDEOGEN_API_KEY = envstr("VIDEOGEN_API_KEY")
VIDEOGEN_USES_SANDBOX = not VIDEOGEN_API_KEY
if VIDEOGEN_USES_SANDBOX:
    VIDEOGEN_API_KEY = envstr("VIDEOGEN_SANDBOX_KEY", "sandbox")
VIDEOGEN_BASE_URL = envstr(
    "VIDEOGEN_BASE_URL",
    VIDEOGEN_SANDBOX_URL if VIDEOGEN_USES_SANDBOX else "https://api.videogen.io",
)
VIDEOGEN_TIMEOUT = envfloat("VIDEOGEN_TIMEOUT", 30.0)

# Following an execution: the poll task re-schedules itself, backing off
# from the first delay to the cap; the reconciler picks up anything overdue.
STUDIO_POLL_FIRST_DELAY = envfloat("STUDIO_POLL_FIRST_DELAY", 1.5)
STUDIO_POLL_MAX_DELAY = envfloat("STUDIO_POLL_MAX_DELAY", 30.0)
STUDIO_POLL_BACKOFF = envfloat("STUDIO_POLL_BACKOFF", 1.3)
# With webhooks registered, a poll is only a fallback for a lost delivery.
STUDIO_WEBHOOK_FALLBACK_POLL_DELAY = envfloat("STUDIO_WEBHOOK_FALLBACK_POLL_DELAY", 60.0)
STUDIO_RECONCILE_INTERVAL = envfloat("STUDIO_RECONCILE_INTERVAL", 30.0)
STUDIO_RECONCILE_GRACE = envfloat("STUDIO_RECONCILE_GRACE", 60.0)

# Descriptions (VideoGen's analysis of kept images): asked for this long after an
# ingest if no file.analysis_completed webhook brought them first, then by the
# backfill, at most this many results per run (GET /v1/files/{id}, files budget).
STUDIO_DESCRIBE_DELAY = envfloat("STUDIO_DESCRIBE_DELAY", 10.0)
STUDIO_DESCRIBE_BATCH = envint("STUDIO_DESCRIBE_BATCH", 100)
STUDIO_DESCRIBE_INTERVAL = envfloat("STUDIO_DESCRIBE_INTERVAL", 60.0)
# Semantic search answers (POST /v1/files/search, 500 an hour for the whole key) are
# kept per team and query this long, so typing and paging cost one call per query.
STUDIO_SEARCH_CACHE_SECONDS = envint("STUDIO_SEARCH_CACHE_SECONDS", 300)

# Pushed live updates (studio/live): pages get a Server-Sent Events stream from
# the ASGI web process (uvicorn). Off: the pages only poll, as under WSGI.
STUDIO_LIVE_PUSH = envbool("STUDIO_LIVE_PUSH", True)
# Who a stream is for (the session's current team); a dotted path, like MIDDLEWARE.
STUDIO_LIVE_SESSION_TEAM = "studio.teams.live.team_of_session"
# Seconds between a stream's keep-alive events (under a proxy's read timeout).
STUDIO_LIVE_HEARTBEAT = envfloat("STUDIO_LIVE_HEARTBEAT", 15.0)
# Without Redis: how often each web process checks the embedded broker for events.
STUDIO_LIVE_POLL_INTERVAL = envfloat("STUDIO_LIVE_POLL_INTERVAL", 0.05)
# The studio page's stream carries the changed cards themselves, rendered once
# per viewer per web process (studio/live/render.py). Off: it carries "changed",
# and every tab asks the update endpoint for itself.
STUDIO_LIVE_PUSH_CARDS = envbool("STUDIO_LIVE_PUSH_CARDS", True)
# Threads per web process that render pushed cards (beside Django's own).
STUDIO_LIVE_RENDER_THREADS = envint("STUDIO_LIVE_RENDER_THREADS", 2)
# The endpoint whose answer is pushed: the studio page's poller asks it.
STUDIO_LIVE_UPDATES_PATH = "/generations/updates/"

# /metrics (Prometheus): answered only for `Authorization: Bearer <token>` or a
# client address in the comma-separated list (addresses or networks). Neither
# set: /metrics answers 403 to everyone.
STUDIO_METRICS_TOKEN = envstr("STUDIO_METRICS_TOKEN")
STUDIO_METRICS_ALLOWED_IPS = envstr("STUDIO_METRICS_ALLOWED_IPS")
try:
    STUDIO_METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(item.strip(), strict=False)
        for item in STUDIO_METRICS_ALLOWED_IPS.split(",") if item.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"STUDIO_METRICS_ALLOWED_IPS: {exc}") from None

# Celery: Redis when REDIS_URL is set, otherwise the embedded broker
# (studio/broker.py): one SQLite file under var/, no server, and as crash-safe
# as Redis (unacked messages are leased, not removed, and come back when the
# worker holding them dies).
REDIS_URL = envstr("REDIS_URL")
# Prefix of Studio's own Redis keys (the rate limiter's), so deployments can share a Redis.
REDIS_KEY_PREFIX = envstr("STUDIO_REDIS_KEY_PREFIX")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "studio-sqlite://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "path": str(VAR_DIR / "broker.sqlite3"),
        "polling_interval": 0.2,
        # A live worker renews its leases; a dead one's come back this much later.
        "visibility_timeout": envfloat("STUDIO_BROKER_VISIBILITY_TIMEOUT", 30.0),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_DEFAULT_QUEUE = "studio"
CELERY_TASK_ROUTES = {
    "generations.submit_generation": {"queue": "submit"},
    "generations.dispatch": {"queue": "submit"},
    "generations.cancel_execution": {"queue": "submit"},
    "generations.poll_execution": {"queue": "poll"},
    "generations.ingest_results": {"queue": "ingest"},
    "webhooks.handle_delivery": {"queue": "poll"},
}
# Every worker consumes all queues unless started with -Q (see README: scaling).
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in ("studio", "submit", "poll", "ingest")
]
# The key's budget, "group=requests/seconds" per endpoint group, named as on
# VideoGen's rate-limits page; the default is its documented hourly table. Shared
# by every worker (Redis, or the embedded broker's file), corrected by every
# answer's X-RateLimit-* (studio/videogen/ratelimit.py); "off" turns it off.
STUDIO_RATE_LIMITS = envstr("STUDIO_RATE_LIMITS", documented_rate_limits())
# The dispatcher's beat tick (seconds): a safety net beside the nudges that drive it.
STUDIO_DISPATCH_TICK = envfloat("STUDIO_DISPATCH_TICK", 5.0)
try:
    parse_rate_limits(STUDIO_RATE_LIMITS)
except ValueError as exc:
    raise ImproperlyConfigured(f"STUDIO_RATE_LIMITS: {exc}") from None
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every URL at INFO, signed download and upload URLs included.
        "httpx": {"level": "WARNING"},
    },
}
