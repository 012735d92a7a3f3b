"""Flask extensions, created once and bound in create_app."""
import secrets
from datetime import UTC, datetime

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def new_id():
    """Return a random, unguessable object id (URL-safe, 16 characters)."""
    return secrets.token_urlsafe(12)


def utcnow():
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """Let the web app and the workers share one SQLite file: WAL, a busy wait, foreign keys on."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def bind_lock_timeout(app):
    """Make the app's connections give up waiting for a lock after EXPO_DB_LOCK_TIMEOUT_S (read at each connect).

    Without it a PostgreSQL statement waits for a lock for ever, and a request with it; the error that ends the
    wait becomes a 503 that says to try again (expo.errors.transient)."""
    engine = db.engines[None]

    def timeout_ms():
        return max(1, int(app.config["EXPO_DB_LOCK_TIMEOUT_S"] * 1000))

    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _busy(dbapi_connection, _record):  # runs after _sqlite_pragmas, which every engine gets
            dbapi_connection.execute(f"PRAGMA busy_timeout={timeout_ms()}")
    elif engine.dialect.name == "postgresql":
        @event.listens_for(engine, "do_connect")
        def _lock_timeout(_dialect, _record, _cargs, cparams):
            cparams["options"] = f"{cparams.get('options', '')} -c lock_timeout={timeout_ms()}".strip()
