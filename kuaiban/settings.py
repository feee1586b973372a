"""Kuaiban settings, read from the environment (12-factor).

Every value comes from an environment variable with a typed helper; a malformed value fails loudly
at start-up rather than silently falling back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent

env = environ.Env()

DEBUG: bool = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("KUAIBAN_DATA_DIR", default=str(Path.cwd() / "data"))).resolve()
if not env.str("KUAIBAN_DATA_DIR", default="") and DATA_DIR.is_relative_to(BASE_DIR):
    # Started from inside the package (``cd kuaiban && kuaiban makemessages``): never write
    # keys, databases or uploads into the code; use the checkout's data/ beside it instead.
    DATA_DIR = BASE_DIR.parent / "data"
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY: str = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    # A per-installation key kept in the data directory, so sessions survive restarts without
    # anyone having to invent a secret for a local trial. Production sets SECRET_KEY.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

# When set, appeal events and ledger anchors are sealed with HMAC-SHA256 under this key, so a
# chain recomputed by someone without it fails `kuaiban audit verify`. Keep it outside the
# database (and its backups); events sealed before it was set keep verifying as plain SHA-256.
AUDIT_KEY: str = env.str("AUDIT_KEY", default="")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "kuaiban.core",
    "kuaiban.org",
    "kuaiban.appeals",
    "kuaiban.deadlines",
    "kuaiban.supervision",
    "kuaiban.visits",
    "kuaiban.metrics",
    "kuaiban.routing",
    "kuaiban.open311",
    "kuaiban.integrations",
    "kuaiban.enterprise",
    "kuaiban.projects",
    "kuaiban.assessment",
    "kuaiban.notify",
    "kuaiban.doors",
    "kuaiban.foresight",
    "kuaiban.themes",
    "kuaiban.api",
    "kuaiban.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "kuaiban.core.middleware.InputGuardMiddleware",
    # Last, as django-axes documents: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kuaiban.urls"
WSGI_APPLICATION = "kuaiban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kuaiban.org.context_processors.navigation",
                "kuaiban.portal.context_processors.demo_loading",
            ],
        },
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'kuaiban.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE takes the write lock at BEGIN
    # so concurrent writers queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    # A bounded pool per process (psycopg_pool, Django's native support): the web server's
    # threads come and go (Granian retires idle ones), but a process never holds more than
    # PG_POOL_MAX_SIZE connections. Size it so that processes x max_size plus the workers'
    # connections stays under PostgreSQL's max_connections (docs/architecture.md).
    # PG_POOL_MAX_SIZE=0 turns the pool off (then CONN_MAX_AGE keeps one per thread).
    _pool_max = env.int("PG_POOL_MAX_SIZE", default=4)
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("application_name", env.str("PG_APPLICATION_NAME", default="kuaiban"))
    if _pool_max > 0:
        _pg_options["pool"] = {
            "min_size": min(_pool_max, env.int("PG_POOL_MIN_SIZE", default=1)),
            "max_size": _pool_max,
            # A request waits this long for a free connection, then fails (500), rather than
            # opening one more; PostgreSQL's "too many clients" is thus never reached.
            "timeout": env.float("PG_POOL_TIMEOUT", default=10.0),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django requires 0
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # The health check costs one round trip (SELECT 1) at the start of every request; it saves
    # the first request on each connection after a database restart from failing. With the
    # pool, the pool runs it (ConnectionPool.check_connection) when it hands a connection out.
    DATABASES["default"].setdefault(
        "CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True)
    )
    # Prepared statements: psycopg prepares a statement the fifth time a connection runs it, and
    # PostgreSQL then skips parsing and planning it (about 40 % of its CPU per registration,
    # docs/performance.md). They need server-side parameter binding. Turn them off behind a
    # pooler in transaction mode that cannot keep them (PgBouncer before 1.21).
    if env.bool("PG_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
DATABASES["default"].setdefault("TEST", {})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Photos and documents of appeals (kuaiban.core.uploads): never served as static files, only
    # through the views that check who may open them. On the file system under the data directory
    # by default; KUAIBAN_ATTACHMENTS_S3_BUCKET moves them to S3-compatible object storage through
    # django-storages (`pip install "kuaiban[s3]"`; docs/public.md, "Attachments").
    # Excel exports built in the background (kuaiban.metrics.tasks.export_ledger), read back only
    # by the download view that checks the user who asked for them.
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "exports", "base_url": None},
    },
    "attachments": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env("KUAIBAN_ATTACHMENTS_S3_BUCKET"),
                "endpoint_url": env("KUAIBAN_ATTACHMENTS_S3_ENDPOINT", default=None),
                "region_name": env("KUAIBAN_ATTACHMENTS_S3_REGION", default=None),
                "access_key": env("KUAIBAN_ATTACHMENTS_S3_ACCESS_KEY", default=None),
                "secret_key": env("KUAIBAN_ATTACHMENTS_S3_SECRET_KEY", default=None),
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": True,
            },
        }
        if env("KUAIBAN_ATTACHMENTS_S3_BUCKET", default="")
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": DATA_DIR / "attachments", "base_url": None},
        }
    ),
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "kuaiban.core.staticfinders.PackageDataFinder",
]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# ----- Security: HTTPS, logins, API tokens, webhooks (docs/security.md) -------------------------
# Production behind HTTPS: KUAIBAN_HTTPS=true (with DEBUG=false) turns on secure cookies, HSTS and
# the redirect to https, so that `kuaiban check --deploy` is clean.
KUAIBAN_HTTPS: bool = env.bool("KUAIBAN_HTTPS", default=False)
if KUAIBAN_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("KUAIBAN_TRUST_X_FORWARDED_PROTO", default=False):
        # Only behind a TLS-terminating proxy that sets (and overwrites) this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Pages may run only the site's own scripts (static files) and scripts carrying the request's
# nonce; style attributes (progress bars, Plotly) need inline styles.
_IMG_SRC: list[str] = ["'self'", "data:", "blob:"]  # and the map's tile host (below)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": _IMG_SRC,
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logins: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair
# is locked out for the cool-off time (django-axes; /login/ and /admin/login/ alike).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT: int = env.int("KUAIBAN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("KUAIBAN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kuaiban.org.views.lockout"  # the lockout page, in the layout, 429

# Caches. "default" is per process unless CACHE_URL is set (memoised reads: hot issues, an API
# key's row for a second); "shared" is seen by every web process and holds counters that must be
# (the /track/ and Open311 lookup throttles): a table in the database by default (created by
# `kuaiban migrate`). CACHE_URL (django-environ's cache_url: redis://host:6379/1,
# pymemcache://host:11211; the client package is the deployer's to install) moves both there.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://kuaiban"),
    "shared": env.cache_url("CACHE_URL", default="dbcache://kuaiban_cache"),
    # A background job's progress (kuaiban.core.jobs), written from inside the job's own
    # transaction, so not into the database: files in the data directory on one host, the
    # shared cache (Redis) where CACHE_URL names one.
    "progress": env.cache_url(
        "CACHE_URL", default=f"filecache://{DATA_DIR / 'cache' / 'progress'}"
    ),
}

# Long work (ledger and enterprise imports) runs as Django tasks, queued in the database and run
# by `kuaiban db_worker` (one of `kuaiban serve`'s background workers).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
# An Excel export of more rows than this is built by the background worker (kuaiban db_worker)
# into the "exports" storage and offered for download to the user who asked for it; a smaller
# one is answered at once.
KUAIBAN_EXPORT_BACKGROUND_ROWS: int = env.int("KUAIBAN_EXPORT_BACKGROUND_ROWS", default=5000)

# The public lookups (/track/, Open311 by service_request_id): at most this many wrong guesses per
# client address and per tracking number in one window; past it, 429 with Retry-After.
KUAIBAN_TRACK_FAILURES_PER_ADDRESS: int = env.int("KUAIBAN_TRACK_FAILURES_PER_ADDRESS", default=20)
# Public submissions (/submit/, POST /api/v1/public/appeals) accepted per client address an hour.
KUAIBAN_PUBLIC_SUBMITS_PER_HOUR: int = env.int("KUAIBAN_PUBLIC_SUBMITS_PER_HOUR", default=20)
# Uploaded files (kuaiban.core.uploads): the largest accepted, the long side photos are shrunk
# to, and how many photos one public submission may carry.
KUAIBAN_UPLOAD_MAX_MB: int = env.int("KUAIBAN_UPLOAD_MAX_MB", default=20)
KUAIBAN_IMAGE_MAX_SIDE: int = env.int("KUAIBAN_IMAGE_MAX_SIDE", default=2048)
KUAIBAN_PHOTOS_PER_APPEAL: int = env.int("KUAIBAN_PHOTOS_PER_APPEAL", default=9)
# 网格吹哨、部门报到: a department named by a village's or grid's whistle reports (acknowledges)
# within this many working hours (docs/deadlines.md).
KUAIBAN_REPORT_HOURS: float = env.float("KUAIBAN_REPORT_HOURS", default=2.0)
# How long a public page's link to one of the unit's "after" photos stays valid.
KUAIBAN_PUBLIC_PHOTO_LINK_HOURS: int = env.int("KUAIBAN_PUBLIC_PHOTO_LINK_HOURS", default=24)
# Django refuses (400) a request carrying more files than this before any view runs.
DATA_UPLOAD_MAX_NUMBER_FILES = 20
KUAIBAN_TRACK_FAILURES_PER_NUMBER: int = env.int("KUAIBAN_TRACK_FAILURES_PER_NUMBER", default=10)
KUAIBAN_TRACK_WINDOW_MINUTES: int = env.int("KUAIBAN_TRACK_WINDOW_MINUTES", default=60)

# REST API bearer tokens: requests per minute per token (429 with Retry-After beyond), and the
# lifetime of a new token (`kuaiban token USERNAME --days N`).
KUAIBAN_API_RATE_PER_MINUTE: int = env.int("KUAIBAN_API_RATE_PER_MINUTE", default=600)
KUAIBAN_API_TOKEN_DAYS: int = env.int("KUAIBAN_API_TOKEN_DAYS", default=90)

# Webhooks post to public addresses only; true lets them reach loopback and private networks.
KUAIBAN_WEBHOOK_ALLOW_PRIVATE: bool = env.bool("KUAIBAN_WEBHOOK_ALLOW_PRIVATE", default=False)

# ----- SMS (kuaiban.notify; docs/public.md, "SMS") ----------------------------------------------
# The backend is a dotted path, like EMAIL_BACKEND: the file outbox ($KUAIBAN_DATA_DIR/outbox/
# sms.jsonl) by default; kuaiban.notify.backends.HttpBackend, AliyunBackend or TencentBackend.
KUAIBAN_SMS_BACKEND: str = env.str(
    "KUAIBAN_SMS_BACKEND", default="kuaiban.notify.backends.FileBackend"
)
KUAIBAN_SMS_OUTBOX: str = env.str("KUAIBAN_SMS_OUTBOX", default="")
KUAIBAN_SMS_TIMEOUT_SECONDS: float = env.float("KUAIBAN_SMS_TIMEOUT_SECONDS", default=5.0)
KUAIBAN_SMS_MAX_ATTEMPTS: int = env.int("KUAIBAN_SMS_MAX_ATTEMPTS", default=8)
# Non-urgent messages written in these hours (local time) wait for their end; codes never do.
# Empty: no quiet hours.
KUAIBAN_SMS_QUIET_HOURS: str = env.str("KUAIBAN_SMS_QUIET_HOURS", default="22:00-08:00")
KUAIBAN_SMS_TIMEZONE: str = env.str("KUAIBAN_SMS_TIMEZONE", default="Asia/Shanghai")
# The generic HTTP gateway: URL, method and one "Name: value" header for its credentials.
KUAIBAN_SMS_HTTP_URL: str = env.str("KUAIBAN_SMS_HTTP_URL", default="")
KUAIBAN_SMS_HTTP_METHOD: str = env.str("KUAIBAN_SMS_HTTP_METHOD", default="POST")
KUAIBAN_SMS_HTTP_AUTH_HEADER: str = env.str("KUAIBAN_SMS_HTTP_AUTH_HEADER", default="")
# 阿里云短信服务 (Dysmsapi) and 腾讯云短信: credentials and the approved sign name (签名).
KUAIBAN_SMS_ALIYUN_ACCESS_KEY_ID: str = env.str("KUAIBAN_SMS_ALIYUN_ACCESS_KEY_ID", default="")
KUAIBAN_SMS_ALIYUN_ACCESS_KEY_SECRET: str = env.str(
    "KUAIBAN_SMS_ALIYUN_ACCESS_KEY_SECRET", default=""
)
KUAIBAN_SMS_ALIYUN_SIGN_NAME: str = env.str("KUAIBAN_SMS_ALIYUN_SIGN_NAME", default="")
KUAIBAN_SMS_ALIYUN_ENDPOINT: str = env.str(
    "KUAIBAN_SMS_ALIYUN_ENDPOINT", default="https://dysmsapi.aliyuncs.com/"
)
KUAIBAN_SMS_ALIYUN_REGION: str = env.str("KUAIBAN_SMS_ALIYUN_REGION", default="cn-hangzhou")
KUAIBAN_SMS_TENCENT_SECRET_ID: str = env.str("KUAIBAN_SMS_TENCENT_SECRET_ID", default="")
KUAIBAN_SMS_TENCENT_SECRET_KEY: str = env.str("KUAIBAN_SMS_TENCENT_SECRET_KEY", default="")
KUAIBAN_SMS_TENCENT_SDK_APP_ID: str = env.str("KUAIBAN_SMS_TENCENT_SDK_APP_ID", default="")
KUAIBAN_SMS_TENCENT_SIGN_NAME: str = env.str("KUAIBAN_SMS_TENCENT_SIGN_NAME", default="")
KUAIBAN_SMS_TENCENT_ENDPOINT: str = env.str(
    "KUAIBAN_SMS_TENCENT_ENDPOINT", default="https://sms.tencentcloudapi.com/"
)
KUAIBAN_SMS_TENCENT_REGION: str = env.str("KUAIBAN_SMS_TENCENT_REGION", default="ap-guangzhou")
# One-time codes: valid minutes, wrong tries before a code burns, and the throttles.
KUAIBAN_SMS_CODE_MINUTES: int = env.int("KUAIBAN_SMS_CODE_MINUTES", default=10)
KUAIBAN_SMS_CODE_ATTEMPTS: int = env.int("KUAIBAN_SMS_CODE_ATTEMPTS", default=5)
KUAIBAN_SMS_CODE_PHONE_INTERVAL_SECONDS: int = env.int(
    "KUAIBAN_SMS_CODE_PHONE_INTERVAL_SECONDS", default=60
)
KUAIBAN_SMS_CODE_PER_PHONE_HOUR: int = env.int("KUAIBAN_SMS_CODE_PER_PHONE_HOUR", default=5)
KUAIBAN_SMS_CODE_PER_ADDRESS_MINUTE: int = env.int("KUAIBAN_SMS_CODE_PER_ADDRESS_MINUTE", default=5)
KUAIBAN_SMS_CODE_PER_ADDRESS_HOUR: int = env.int("KUAIBAN_SMS_CODE_PER_ADDRESS_HOUR", default=30)
# Telling submitters at each public step: on/off, and the channels whose submitters hear
# (operator-registered hotline appeals get a call-back; add "hotline" to text them too).
# Handlers also hear of work arriving at their unit (dispatch, arbitration, a co-unit's part,
# rework) by SMS to their own mobile (User.phone), beside the in-app notice and its e-mail.
KUAIBAN_SMS_STAFF_NOTICES: bool = env.bool("KUAIBAN_SMS_STAFF_NOTICES", default=False)
KUAIBAN_SMS_NOTIFY: bool = env.bool("KUAIBAN_SMS_NOTIFY", default=True)
KUAIBAN_SMS_NOTIFY_CHANNELS: list[str] = env.list(
    "KUAIBAN_SMS_NOTIFY_CHANNELS", default=["web", "app", "direct_line", "mailbox"]
)
# A reply quoted in an SMS is cut to this many characters (the rest is on the tracking page).
KUAIBAN_SMS_REPLY_CHARS: int = env.int("KUAIBAN_SMS_REPLY_CHARS", default=100)
# The public address of this installation (https://12345.example.gov.cn), for links sent by
# e-mail (relative when empty) and SMS (the self-rating link; http://127.0.0.1:8000 when empty).
KUAIBAN_SITE_URL: str = env.str("KUAIBAN_SITE_URL", default="")

# ----- Maps (docs/public.md, "Maps") ----------------------------------------------------------
# Leaflet (from the installed django-leaflet package) draws the maps; the tiles are the
# deployer's choice: 天地图, 高德 or OpenStreetMap, as a URL template with {z}/{x}/{y} (and {s}
# for the subdomains). Empty: no tiles, the points are drawn on a plain background with a note.
KUAIBAN_MAP_TILES_URL: str = env.str("KUAIBAN_MAP_TILES_URL", default="")
KUAIBAN_MAP_ATTRIBUTION: str = env.str("KUAIBAN_MAP_ATTRIBUTION", default="")
KUAIBAN_MAP_SUBDOMAINS: str = env.str("KUAIBAN_MAP_SUBDOMAINS", default="abc")
# A map pin with no region given is placed in the village or community whose centre is nearest,
# if one lies within this many kilometres (org.selectors.region_from_place).
KUAIBAN_REGION_PIN_KM: float = env.float("KUAIBAN_REGION_PIN_KM", default=3.0)
# Where an empty map opens: "latitude,longitude,zoom" (WGS-84), the county's centre.
KUAIBAN_MAP_CENTER: str = env.str("KUAIBAN_MAP_CENTER", default="34.7216,116.9368,11")
# The public map shows appeals received in the last N days (at most 365), at most this many.
KUAIBAN_MAP_PUBLIC_DAYS: int = env.int("KUAIBAN_MAP_PUBLIC_DAYS", default=90)
KUAIBAN_MAP_MAX_POINTS: int = env.int("KUAIBAN_MAP_MAX_POINTS", default=1000)


def _map_center(raw: str) -> tuple[float, float, int]:
    try:
        lat, lng, zoom = (part.strip() for part in raw.split(","))
        center = (float(lat), float(lng), int(zoom))
    except ValueError:
        raise ImproperlyConfigured(
            f"KUAIBAN_MAP_CENTER must be 'latitude,longitude,zoom', not {raw!r}"
        ) from None
    if not (-90 <= center[0] <= 90 and -180 <= center[1] <= 180 and 1 <= center[2] <= 18):
        raise ImproperlyConfigured(f"KUAIBAN_MAP_CENTER is out of range: {raw!r}")
    return center


def _tile_source(url: str) -> str:
    """The CSP source of a tile URL template: its origin, a {s} subdomain as a wildcard."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"KUAIBAN_MAP_TILES_URL must be an http(s) URL, not {url!r}")
    first, _dot, rest = parts.netloc.partition(".")
    if "{" in rest:
        raise ImproperlyConfigured(
            f"KUAIBAN_MAP_TILES_URL: only the host's first label may vary: {url!r}"
        )
    return f"{parts.scheme}://{'*' if '{' in first else first}{_dot}{rest}"


KUAIBAN_MAP_CENTER_PARSED = _map_center(KUAIBAN_MAP_CENTER)
if not 1 <= KUAIBAN_MAP_PUBLIC_DAYS <= 365:
    raise ImproperlyConfigured("KUAIBAN_MAP_PUBLIC_DAYS must be between 1 and 365")
_TILE_SOURCE = _tile_source(KUAIBAN_MAP_TILES_URL)
if _TILE_SOURCE:
    _IMG_SRC.append(_TILE_SOURCE)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kuaiban@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# Product settings.
KUAIBAN_DEMO_PASSWORD: str = env.str("KUAIBAN_DEMO_PASSWORD", default="kuaiban-demo")
KUAIBAN_NUMBER_PREFIX: str = env.str("KUAIBAN_NUMBER_PREFIX", default="KB")
KUAIBAN_CONTENT_MAX = 5000
KUAIBAN_PAGE_SIZE = 50
# Background workers (kuaiban.core.workers): a heartbeat older than this (plus the worker's own
# interval) makes /healthz answer 503; transient database errors are retried after 1, 2, 4 …
# seconds, at most the maximum.
KUAIBAN_WORKER_STALE_SECONDS: float = env.float("KUAIBAN_WORKER_STALE_SECONDS", default=300.0)
KUAIBAN_WORKER_BACKOFF_SECONDS: float = env.float("KUAIBAN_WORKER_BACKOFF_SECONDS", default=1.0)
KUAIBAN_WORKER_BACKOFF_MAX_SECONDS: float = env.float(
    "KUAIBAN_WORKER_BACKOFF_MAX_SECONDS", default=60.0
)

DOMAIN_NAME = _("Kuaiban")
