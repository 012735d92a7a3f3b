"""Configuration from EXPO_* environment variables, with safe embedded defaults."""
import json
import os
import secrets
from pathlib import Path


def _env(name, default=None):
    """Return the EXPO_ variable NAME, or DEFAULT when unset or empty."""
    value = os.environ.get(f"EXPO_{name}")
    return default if value in (None, "") else value


def _int(name, default):
    return int(_env(name, default))


def data_dir():
    """Return the directory that holds the embedded defaults' data."""
    return Path(_env("DATA_DIR", "instance")).resolve()


def _secret_key(directory):
    """Return EXPO_SECRET_KEY, or a key generated once and kept in the data dir."""
    key = _env("SECRET_KEY")
    if key:
        return key
    path = directory / "secret_key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def store_settings(directory):
    """Return the S3 endpoint and keys: from EXPO_S3_* or from the embedded store's file."""
    saved = {}
    path = directory / "store.json"
    if path.exists():
        saved = json.loads(path.read_text())
    return {
        "endpoint": _env("S3_ENDPOINT", saved.get("endpoint")),
        "access_key": _env("S3_ACCESS_KEY", saved.get("access_key")),
        "secret_key": _env("S3_SECRET_KEY", saved.get("secret_key")),
    }


class Config:
    """Embedded defaults: SQLite, SQLAlchemy broker and SeaweedFS under the data dir."""

    def __init__(self):
        directory = data_dir()
        self.EXPO_DATA_DIR = str(directory)
        self.SECRET_KEY = _secret_key(directory)
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{directory / 'expo.sqlite'}")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # How long a statement waits for another connection's lock before the request answers 503 (see extensions).
        self.EXPO_DB_LOCK_TIMEOUT_S = float(_env("DB_LOCK_TIMEOUT_S", 15))
        self.EXPO_BROKER_URL = _env("BROKER_URL", f"sqla+sqlite:///{directory / 'broker.sqlite'}")
        store = store_settings(directory)
        self.EXPO_S3_ENDPOINT = store["endpoint"]
        self.EXPO_S3_ACCESS_KEY = store["access_key"]
        self.EXPO_S3_SECRET_KEY = store["secret_key"]
        self.EXPO_S3_BUCKET = _env("S3_BUCKET", "expo")
        self.EXPO_S3_REGION = _env("S3_REGION", "us-east-1")
        self.EXPO_MEDIA_BASE_URL = _env("MEDIA_BASE_URL")
        # H5 bundles are served from here only; `serve` opens it on a second loopback port (--sandbox-port).
        self.EXPO_SANDBOX_ORIGIN = _env("SANDBOX_ORIGIN", "http://127.0.0.1:5001")
        # The site's own origin(s): the only pages that may frame a bundle.
        origins = _env("SITE_ORIGINS", "http://127.0.0.1:5000,http://localhost:5000")
        self.EXPO_SITE_ORIGINS = [o.strip().rstrip("/") for o in origins.split(",") if o.strip()]
        hosts = _env("EMBED_HOSTS", "player.bilibili.com,v.qq.com")
        self.EXPO_EMBED_HOSTS = [h.strip().lower() for h in hosts.split(",") if h.strip()]
        self.EXPO_MAX_IMAGE_BYTES = _int("MAX_IMAGE_BYTES", 50 * 1024 * 1024)
        self.EXPO_MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 50_000_000)
        self.EXPO_MAX_PANORAMA_BYTES = _int("MAX_PANORAMA_BYTES", 100 * 1024 * 1024)
        self.EXPO_MAX_PANORAMA_PIXELS = _int("MAX_PANORAMA_PIXELS", 100_000_000)
        self.EXPO_MAX_VIDEO_BYTES = _int("MAX_VIDEO_BYTES", 8 * 1024**3)
        self.EXPO_MAX_VIDEO_SECONDS = _int("MAX_VIDEO_SECONDS", 3 * 3600)
        self.EXPO_MAX_VIDEO_SIDE = _int("MAX_VIDEO_SIDE", 4096)
        self.EXPO_MAX_VIDEO_FPS = _int("MAX_VIDEO_FPS", 60)
        self.EXPO_MAX_AUDIO_BYTES = _int("MAX_AUDIO_BYTES", 1024**3)
        self.EXPO_MAX_AUDIO_SECONDS = _int("MAX_AUDIO_SECONDS", 3 * 3600)
        self.EXPO_MAX_CAPTIONS_BYTES = _int("MAX_CAPTIONS_BYTES", 2 * 1024 * 1024)
        self.EXPO_MAX_H5_BYTES = _int("MAX_H5_BYTES", 200 * 1024 * 1024)
        self.EXPO_MAX_H5_UNPACKED_BYTES = _int("MAX_H5_UNPACKED_BYTES", 500 * 1024 * 1024)
        self.EXPO_MAX_H5_ENTRIES = _int("MAX_H5_ENTRIES", 1000)
        self.EXPO_UPLOAD_PART_BYTES = _int("UPLOAD_PART_BYTES", 16 * 1024 * 1024)
        self.EXPO_UPLOAD_EXPIRY_S = _int("UPLOAD_EXPIRY_S", 2 * 86400)
        self.EXPO_ORIGINALS_RETENTION_DAYS = _int("ORIGINALS_RETENTION_DAYS", 0)
        self.EXPO_FFMPEG = _env("FFMPEG")
        self.EXPO_CHROMIUM = _env("CHROMIUM", "")
        self.EXPO_PAGE_CACHE_S = _int("PAGE_CACHE_S", 60)
        self.EXPO_TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")  # an IANA zone: when each themed day begins
        self.EXPO_STATS = _env("STATS", "1") == "1"  # 0: count no page views (the counting benchmark)
        self.EXPO_REDIS_URL = _env("REDIS_URL", self.EXPO_BROKER_URL if self.EXPO_BROKER_URL[:5] == "redis" else None)
        self.EXPO_PAGE_CACHE_ENTRIES = _int("PAGE_CACHE_ENTRIES", 1024)
        self.EXPO_WATCHDOG_SILENCE_S = _int("WATCHDOG_SILENCE_S", 120)
        self.EXPO_QUEUE_SHORT = _env("QUEUE_SHORT", "short")
        self.EXPO_QUEUE_LONG = _env("QUEUE_LONG", "long")
        self.EXPO_S3_PUBLIC_ENDPOINT = _env("S3_PUBLIC_ENDPOINT", self.EXPO_S3_ENDPOINT)
        self.MAX_CONTENT_LENGTH = _int("MAX_REQUEST_BYTES", 8 * 1024**3)
        self.EXPO_LOGIN_LIMIT = _int("LOGIN_LIMIT", 10)
        self.EXPO_LOGIN_WINDOW_S = _int("LOGIN_WINDOW_S", 300)
        self.EXPO_SECURE_COOKIES = _env("SECURE_COOKIES", "0") == "1"
        self.EXPO_TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)  # proxies in front whose X-Forwarded-For counts
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.EXPO_SECURE_COOKIES
        self.REMEMBER_COOKIE_SECURE = self.EXPO_SECURE_COOKIES
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.EXPO_LOG_LEVEL = _env("LOG_LEVEL", "INFO")


class ProductionConfig(Config):
    """PostgreSQL, Redis, S3 and TLS: every service named by an EXPO_* variable."""

    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "BROKER_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")

    def __init__(self):
        missing = [f"EXPO_{name}" for name in self.REQUIRED if not _env(name)]
        if missing:
            raise RuntimeError(f"EXPO_ENV=production needs {', '.join(missing)}: every web node and worker must "
                               "share the same secret key, database, broker and store.")
        super().__init__()
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.EXPO_SECURE_COOKIES = True


class TestConfig(Config):
    """Used by the test suite; services come from the EXPO_TEST_* variables via conftest."""

    TESTING = True

    def __init__(self):
        super().__init__()
        self.TESTING = True
