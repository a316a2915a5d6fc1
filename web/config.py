"""Configuration from the environment.  The embedded default needs no variable at all."""

from __future__ import annotations

import os
from datetime import timedelta


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


class ConfigurationError(RuntimeError):
    """The app cannot start with this configuration (the message says what to set)."""


def normalise_database_url(url: str | None) -> str | None:
    """Accept the URLs hosting providers hand out (postgres://, postgresql://) and use psycopg 3."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    ENV_NAME = env_str("SHELFSIDE_ENV", "development")  # development | production
    # required in production (the same on every machine); in development, when unset, generated once into the instance folder
    SECRET_KEY = env_str("SECRET_KEY")
    # how many proxies (load balancer, ingress) stand in front of the app and set X-Forwarded-For/-Proto/-Host;
    # 0 trusts none of these headers (the client address is the socket's)
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(env_str("DATABASE_URL"))  # default: SQLite in the instance folder
    # no ping round-trip per request: connections are recycled before servers drop idle ones,
    # and a broken one fails that request only (the pool then discards it)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": env_int("DATABASE_POOL_RECYCLE_SECONDS", 1800), "pool_size": env_int("DATABASE_POOL_SIZE", 10)}
    # verified API keys are remembered this long per process; a revoked key stops working within it
    API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 30)
    REDIS_URL = env_str("REDIS_URL")
    # Redis when configured; else counters in the app's own database (core.rate_limits), shared by every process
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI") or env_str("REDIS_URL") or "database://"
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    LOGIN_RATE_LIMIT = env_str("LOGIN_RATE_LIMIT", "10 per minute;100 per hour")
    PUBLIC_RATE_LIMIT = env_str("PUBLIC_RATE_LIMIT", "300 per minute")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", ENV_NAME != "development")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # only kiosks use permanent sessions (staff sessions end with the browser): a year per device
    PERMANENT_SESSION_LIFETIME = timedelta(days=env_int("KIOSK_SESSION_DAYS", 365))
    # a staff sign-in (browser session or staff token) ends after this long unused: a working day; it is
    # kept server-side, so signing out or deactivation also ends every copy of the cookie or token
    STAFF_SESSION_IDLE_HOURS = env_float("STAFF_SESSION_IDLE_HOURS", 10)
    STAFF_TOKEN_HOURS = env_float("STAFF_TOKEN_HOURS", 12)  # a staff token's absolute lifetime
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; tablets stay open all day
    # live update streams (web.tablet.live) each hold a gunicorn thread: at most this many per process
    LIVE_MAX_STREAMS = env_int("LIVE_MAX_STREAMS", 2)
    # webhook endpoints: any URL in development; https to public addresses when restricted
    WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", ENV_NAME != "development")
    WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
    OUTBOX_POLL_SECONDS = float(env_str("OUTBOX_POLL_SECONDS", "1"))
    PASSWORD_HASH_METHOD = "scrypt"
    # a phone number typed without a country code (0171 …) is read as a number of this country
    PHONE_REGION = env_str("PHONE_REGION", "DE")
    # outreach: "log" (development: messages go to the shelfside.messages log only) or "smtp" (email by
    # SMTP; there is no SMS gateway, so SMS messages are recorded as failed with that reason)
    MESSAGE_PROVIDER = env_str("MESSAGE_PROVIDER", "log")
    SMTP_HOST = env_str("SMTP_HOST")
    SMTP_PORT = env_int("SMTP_PORT", 587)
    SMTP_USER = env_str("SMTP_USER")
    SMTP_PASSWORD = env_str("SMTP_PASSWORD")
    SMTP_FROM = env_str("SMTP_FROM")
    SMTP_STARTTLS = env_bool("SMTP_STARTTLS", True)
    SMTP_TIMEOUT_SECONDS = env_float("SMTP_TIMEOUT_SECONDS", 10)
    # a thank-you follow-up task this many days after a purchase; the dispatcher makes follow-ups every N minutes (0: only the CLI)
    FOLLOW_UP_DAYS = env_int("FOLLOW_UP_DAYS", 3)
    FOLLOW_UPS_EVERY_MINUTES = env_float("FOLLOW_UPS_EVERY_MINUTES", 15)
    # payments: "development" (the embedded default: a simulated reader and QR page, no account) or "stripe"
    PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", "development")
    STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # a localstripe or a test double instead of api.stripe.com
    STRIPE_READERS = env_str("STRIPE_READERS", "")  # "BER-MITTE/T1=tmr_…,BER-MITTE/T2=tmr_…": the reader at each register
    STRIPE_SUCCESS_URL = env_str("STRIPE_SUCCESS_URL")  # where the hosted QR page sends the customer once paid
    PAY_PAGE_RATE_LIMIT = env_str("PAY_PAGE_RATE_LIMIT", "30 per minute")
    # where customers' phones reach this app (the receipt's and the pay page's QR codes); default: the request's host
    PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL")
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_JSON_DEPTH = 32  # deeper JSON bodies are refused (400) before any view parses them
    # longer URLs are refused with 414 (in the JSON envelope under /api); scripts/serve lets gunicorn pass up to 8190
    MAX_URL_LENGTH = env_int("MAX_URL_LENGTH", 8000)

    # flask-smorest / OpenAPI
    API_TITLE = "Shelfside API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    # Swagger UI at /api/v1/docs is served from the app's own files (web/api/docs.py), not a CDN
    API_SPEC_OPTIONS = {
        "info": {"description": "Live inventory, reservations and catalogue for stores and the e-commerce site."},
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner API key (`ssk_…`, from `flask --app web create-api-key`) "
                    "or a staff token (`sst_…`, from POST /staff/tokens)",
                },
                "staffSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The tablet's session; writes also need X-CSRFToken",
                },
            }
        },
        "security": [{"apiKey": []}, {"staffSession": []}],
    }


class TestConfig(Config):
    TESTING = True
    ENV_NAME = "test"
    SECRET_KEY = "test-secret-key"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SESSION_COOKIE_SECURE = False
    WEBHOOK_REQUIRE_HTTPS = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast in tests only; production keeps scrypt
    API_KEY_CACHE_SECONDS = 0
