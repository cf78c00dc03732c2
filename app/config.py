"""Settings: defaults here, each overridable from the environment (HERITAGE_*, DATABASE_URL)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KARTVERKET_TOPO = (
    "https://cache.kartverket.no/v1/wmts/1.0.0/topo/default/webmercator/{z}/{y}/{x}.png"
)
KARTVERKET_ATTRIBUTION = '&copy; <a href="https://www.kartverket.no/">Kartverket</a> (CC BY 4.0)'
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
DEFAULT_DATABASE_URL = "postgresql+psycopg:///heritage?host=/var/run/postgresql"


def database_url(raw: str | None) -> str:
    """Accept the usual postgres:// and postgresql:// forms and select the psycopg 3 driver."""
    url = raw or DEFAULT_DATABASE_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_list(name: str) -> list[str] | None:
    """A comma-separated setting as a list; None when it is not set."""
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _development_secret(instance_path: Path) -> str:
    """A random key kept in instance/ so sessions survive restarts on a developer's machine."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration dict from defaults, the environment and explicit overrides."""
    env = (overrides or {}).get("ENV") or os.environ.get("HERITAGE_ENV", "development")
    production = env == "production"
    config: dict[str, Any] = {
        "ENV": env,
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL")),
        "DB_STATEMENT_TIMEOUT_MS": _env_int("HERITAGE_STATEMENT_TIMEOUT_MS", 15000),
        "DB_POOL_SIZE": _env_int("HERITAGE_DB_POOL_SIZE", 5),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or os.environ.get("HERITAGE_SECRET_KEY"),
        # Every absolute link (mail, OGC API, JSON API, exports) is built on this, never on the
        # request's Host header (app/hosts.py).
        "BASE_URL": os.environ.get("HERITAGE_BASE_URL", "http://127.0.0.1:5000"),
        # Host names served; others get 400. Unset: BASE_URL's host in production, any elsewhere.
        "TRUSTED_HOSTS": _env_list("HERITAGE_TRUSTED_HOSTS"),
        "INSTALLATION_NAME": os.environ.get("HERITAGE_INSTALLATION_NAME", "Kulturspor"),
        # Requests larger than this are refused with 413 before anything is read.
        "MAX_CONTENT_LENGTH": _env_int("HERITAGE_MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        # Imports of known sites may weigh more (megabytes; spooled to disk, read as a stream).
        "IMPORT_MAX_MB": _env_int("HERITAGE_IMPORT_MAX_MB", 200),
        # Where an upload waits between its dry run and the confirmation; with several app
        # servers, a directory they all share (empty: instance/imports).
        "IMPORT_HOLD_DIR": os.environ.get("HERITAGE_IMPORT_HOLD_DIR", ""),
        "MAX_VERTICES": _env_int("HERITAGE_MAX_VERTICES", 5000),
        # Sensitive traces are shown to the public at the centre of a cell this size (metres).
        "PRIVACY_CELL_METRES": _env_int("HERITAGE_PRIVACY_CELL_METRES", 1500),
        "TILE_URL": os.environ.get("HERITAGE_TILE_URL", KARTVERKET_TOPO),
        "TILE_ATTRIBUTION": os.environ.get("HERITAGE_TILE_ATTRIBUTION", KARTVERKET_ATTRIBUTION),
        "TILE_NAME": os.environ.get("HERITAGE_TILE_NAME", "Kartverket topografisk"),
        "ALT_TILE_URL": os.environ.get("HERITAGE_ALT_TILE_URL", OSM_TILES),
        "ALT_TILE_ATTRIBUTION": os.environ.get("HERITAGE_ALT_TILE_ATTRIBUTION", OSM_ATTRIBUTION),
        "ALT_TILE_NAME": os.environ.get("HERITAGE_ALT_TILE_NAME", "OpenStreetMap"),
        # Below this zoom the map endpoint answers with counted clusters instead of shapes.
        "MAP_CLUSTER_BELOW_ZOOM": _env_int("HERITAGE_MAP_CLUSTER_BELOW_ZOOM", 12),
        "MAP_MAX_FEATURES": _env_int("HERITAGE_MAP_MAX_FEATURES", 1500),
        # Map and search requests give up sooner than the rest (503, Retry-After): a slow view
        # must never hold a worker that light requests are waiting for.
        "MAP_STATEMENT_TIMEOUT_MS": _env_int("HERITAGE_MAP_STATEMENT_TIMEOUT_MS", 2500),
        # How long a proxy or browser may reuse a public low-zoom map tile (seconds).
        "MAP_TILE_MAX_AGE": _env_int("HERITAGE_MAP_TILE_MAX_AGE", 60),
        # An online place-name service to ask as well as the local gazetteer (never required),
        # for example Kartverket's https://ws.geonorge.no/stedsnavn/v1/navn
        "GEOCODER_URL": os.environ.get("HERITAGE_GEOCODER_URL", ""),
        "GEOCODER_TIMEOUT": float(os.environ.get("HERITAGE_GEOCODER_TIMEOUT", "2.0")),
        # Searches longer than this are cut (and the answer says so).
        "SEARCH_MAX_CHARS": _env_int("HERITAGE_SEARCH_MAX_CHARS", 200),
        # A streaming replica for read-only traffic (map, OGC API, exports, search); empty: none.
        "READ_DATABASE_URL": os.environ.get("HERITAGE_READ_DATABASE_URL", ""),
        # After the replica fails, how long to send its reads to the primary before trying again.
        "READ_REPLICA_RETRY_SECONDS": _env_int("HERITAGE_READ_REPLICA_RETRY_SECONDS", 30),
        # A replica further behind than this is not used (measured at most once a second).
        "READ_REPLICA_MAX_LAG_SECONDS": _env_int("HERITAGE_READ_REPLICA_MAX_LAG_SECONDS", 60),
        "BABEL_DEFAULT_LOCALE": os.environ.get("HERITAGE_DEFAULT_LOCALE", "nb"),
        # Bokmål, Nynorsk and English in full; Northern Sami for the resident's path (the rest of
        # a Sami page falls back to Bokmål and says so). See docs/languages.md.
        "LANGUAGES": ["nb", "nn", "se", "en"],
        # Who answers for the personal data (the privacy statement, /privacy, is built from these).
        "PRIVACY_CONTROLLER": os.environ.get(
            "HERITAGE_PRIVACY_CONTROLLER", "Eksempel kommune, folkebiblioteket"
        ),
        "PRIVACY_CONTACT": os.environ.get("HERITAGE_PRIVACY_CONTACT", "postmottak@example.no"),
        # The data protection officer (personvernombud): name and address, or empty.
        "PRIVACY_DPO": os.environ.get("HERITAGE_PRIVACY_DPO", ""),
        # Where accessibility feedback goes (the accessibility statement, /accessibility).
        "ACCESSIBILITY_CONTACT": os.environ.get(
            "HERITAGE_ACCESSIBILITY_CONTACT", "postmottak@example.no"
        ),
        # Who runs the installation, shown on /about and in the footer.
        "OPERATOR_NAME": os.environ.get("HERITAGE_OPERATOR_NAME", "Folkebiblioteket"),
        # Retention (flask purge, run daily from cron, enforces these; the statement states them).
        "LOG_RETENTION_DAYS": _env_int("HERITAGE_LOG_RETENTION_DAYS", 14),
        "SESSION_RETENTION_DAYS": _env_int("HERITAGE_SESSION_RETENTION_DAYS", 30),
        "MAIL_RETENTION_DAYS": _env_int("HERITAGE_MAIL_RETENTION_DAYS", 30),
        # Backups are kept this long: data deleted from the service is gone from backups after it
        # (the grace period the privacy statement and the account deletion page state).
        "BACKUP_RETENTION_DAYS": _env_int("HERITAGE_BACKUP_RETENTION_DAYS", 35),
        # Request logs (JSON lines with a request id) go to stderr, and to files in this
        # directory when set, one file a day, removed by flask purge after LOG_RETENTION_DAYS.
        "LOG_DIR": os.environ.get("HERITAGE_LOG_DIR", ""),
        # /metrics (Prometheus) answers only with this bearer token; empty: 404.
        "METRICS_TOKEN": os.environ.get("HERITAGE_METRICS_TOKEN", ""),
        # Where flask backup writes (empty: instance/backups).
        "BACKUP_DIR": os.environ.get("HERITAGE_BACKUP_DIR", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("HERITAGE_SECURE_COOKIES", production),
        "SESSION_COOKIE_NAME": "heritage_session",
        "PERMANENT_SESSION_LIFETIME": _env_int("HERITAGE_SESSION_DAYS", 14) * 86400,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("HERITAGE_SECURE_COOKIES", production),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; forms stay usable for hours
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "PROXY_HOPS": _env_int("HERITAGE_PROXY_HOPS", 0),
        "TESTING": False,
        "MAIL_FROM": os.environ.get("HERITAGE_MAIL_FROM", "Kulturspor <noreply@localhost>"),
        "SMTP_HOST": os.environ.get("HERITAGE_SMTP_HOST", ""),
        "SMTP_PORT": _env_int("HERITAGE_SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("HERITAGE_SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("HERITAGE_SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _env_bool("HERITAGE_SMTP_STARTTLS", True),
        # Rate limits live in Redis when REDIS_URL is set (shared by every worker and server),
        # in process memory otherwise (development only).
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RATELIMIT_ENABLED": _env_bool("HERITAGE_RATELIMIT_ENABLED", True),
        "RATELIMIT_KEY_PREFIX": os.environ.get("HERITAGE_RATELIMIT_PREFIX", "heritage"),
        "LOGIN_RATE_LIMIT": os.environ.get("HERITAGE_LOGIN_RATE_LIMIT", "10/minute"),
        # Failed logins on one account, from however many addresses (docs/security.md).
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get(
            "HERITAGE_LOGIN_ACCOUNT_RATE_LIMIT", "10/15 minutes"
        ),
        "REGISTER_RATE_LIMIT": os.environ.get("HERITAGE_REGISTER_RATE_LIMIT", "10/hour"),
        "RESET_RATE_LIMIT_PER_IP": os.environ.get("HERITAGE_RESET_RATE_LIMIT_PER_IP", "5/hour"),
        "RESET_RATE_LIMIT_PER_EMAIL": os.environ.get(
            "HERITAGE_RESET_RATE_LIMIT_PER_EMAIL", "3/hour"
        ),
        "SUBMIT_RATE_LIMIT": os.environ.get("HERITAGE_SUBMIT_RATE_LIMIT", "60/minute"),
        "RESET_TOKEN_MINUTES": _env_int("HERITAGE_RESET_TOKEN_MINUTES", 30),
        # Photos (docs/photos.md). Files live in MEDIA_DIR (empty: instance/media) unless
        # MEDIA_S3_BUCKET is set, then in S3-compatible object storage (AWS S3, MinIO, Ceph).
        "MEDIA_DIR": os.environ.get("HERITAGE_MEDIA_DIR", ""),
        "MEDIA_S3_ENDPOINT": os.environ.get("HERITAGE_MEDIA_S3_ENDPOINT", ""),
        "MEDIA_S3_BUCKET": os.environ.get("HERITAGE_MEDIA_S3_BUCKET", ""),
        "MEDIA_S3_ACCESS_KEY": os.environ.get("HERITAGE_MEDIA_S3_ACCESS_KEY", ""),
        "MEDIA_S3_SECRET_KEY": os.environ.get("HERITAGE_MEDIA_S3_SECRET_KEY", ""),
        "MEDIA_S3_REGION": os.environ.get("HERITAGE_MEDIA_S3_REGION", "us-east-1"),
        # How long a signed (pre-signed S3) photo address stays valid, in seconds.
        "MEDIA_URL_SECONDS": _env_int("HERITAGE_MEDIA_URL_SECONDS", 300),
        # A rejected photo's files stay this many days (author and moderators see why), then go.
        "MEDIA_REJECTED_DAYS": _env_int("HERITAGE_MEDIA_REJECTED_DAYS", 7),
        # Uploaded photos never attached to a trace are removed after this many hours.
        "MEDIA_STAGED_HOURS": _env_int("HERITAGE_MEDIA_STAGED_HOURS", 24),
        "PHOTO_MAX_MB": _env_int("HERITAGE_PHOTO_MAX_MB", 20),
        "PHOTO_MAX_MEGAPIXELS": _env_int("HERITAGE_PHOTO_MAX_MEGAPIXELS", 50),
        "PHOTOS_PER_TRACE": _env_int("HERITAGE_PHOTOS_PER_TRACE", 10),
        "PHOTO_THUMB_PX": _env_int("HERITAGE_PHOTO_THUMB_PX", 320),
        "PHOTO_DISPLAY_PX": _env_int("HERITAGE_PHOTO_DISPLAY_PX", 1600),
        # 'webp' or 'jpeg' for the stored thumbnail and display size.
        "PHOTO_FORMAT": os.environ.get("HERITAGE_PHOTO_FORMAT", "webp"),
        # Keep the uploaded file as well (re-encoded all the same, never with its metadata).
        "KEEP_ORIGINALS": _env_bool("HERITAGE_KEEP_ORIGINALS", False),
        # Per-user quota (docs/security.md item 27): photos a day, and megabytes stored in all.
        "PHOTO_DAILY_QUOTA": _env_int("HERITAGE_PHOTO_DAILY_QUOTA", 200),
        "PHOTO_USER_QUOTA_MB": _env_int("HERITAGE_PHOTO_USER_QUOTA_MB", 2000),
        "PHOTO_RATE_LIMIT": os.environ.get("HERITAGE_PHOTO_RATE_LIMIT", "60/minute"),
        # The release that names the service worker's caches and versions static URLs
        # (empty: a hash of static/ at start-up), and how many map tiles it keeps offline.
        "RELEASE": os.environ.get("HERITAGE_RELEASE", ""),
        "TILE_CACHE_LIMIT": _env_int("HERITAGE_TILE_CACHE_LIMIT", 3000),
    }
    config.update(overrides or {})
    base = urlsplit(config["BASE_URL"])
    if base.scheme not in ("http", "https") or not base.hostname:
        raise RuntimeError(
            "HERITAGE_BASE_URL must be an absolute http(s) URL such as https://kulturspor.example"
        )
    if production and config["TRUSTED_HOSTS"] is None:
        config["TRUSTED_HOSTS"] = [base.hostname]
    if not config["SECRET_KEY"]:
        if production:
            raise RuntimeError("SECRET_KEY must be set when HERITAGE_ENV=production")
        config["SECRET_KEY"] = _development_secret(instance_path)
    return config
