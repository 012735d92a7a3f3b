"""The curator-managed allow-list of hosts that embed blocks may frame."""
import re
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from expo.errors import Conflict, Invalid, NotFound
from expo.extensions import db
from pavilions.models import EmbedHost

_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?:\.(?!-)[a-z0-9-]{1,63})+$")
_CACHE = {"at": 0.0, "hosts": frozenset()}
CACHE_S = 30


def normalise(host):
    """Return HOST as a bare lower-case host name, or raise Invalid."""
    host = (host or "").strip().lower().removeprefix("https://").rstrip("/")
    if not _HOST.match(host):
        raise Invalid(f"'{host}' is not a host name; write it like player.example.com (no path, no port).",
                      code="invalid_host")
    return host


def allowed_hosts(fresh=False):
    """Return the configured hosts and the curators' hosts, cached for CACHE_S seconds per process."""
    if fresh or time.monotonic() - _CACHE["at"] > CACHE_S:
        try:
            stored = db.session.scalars(select(EmbedHost.host)).all()
            _CACHE.update(at=time.monotonic(), hosts=frozenset(stored))
        except SQLAlchemyError:
            db.session.rollback()  # a database hiccup keeps the last known list rather than failing the page

    return frozenset(current_app.config["EXPO_EMBED_HOSTS"]) | _CACHE["hosts"]


def add(host, curator):
    """Allow HOST for embeds; the caller commits."""
    host = normalise(host)
    if db.session.get(EmbedHost, host) is not None or host in current_app.config["EXPO_EMBED_HOSTS"]:
        raise Conflict(f"{host} is already allowed.", code="host_exists")
    db.session.add(EmbedHost(host=host, added_by=curator.id))
    _CACHE["at"] = 0.0
    return host


def remove(host):
    """Stop allowing HOST for new embeds; published pavilions keep theirs until edited. The caller commits."""
    row = db.session.get(EmbedHost, normalise(host))
    if row is None:
        raise NotFound(f"{host} is not on the curators' list (hosts set by EXPO_EMBED_HOSTS stay).",
                       code="host_not_found")
    db.session.delete(row)
    _CACHE["at"] = 0.0


def listed():
    """Return [(host, source)] for the page: curators' hosts and configured ones."""
    stored = db.session.scalars(select(EmbedHost).order_by(EmbedHost.host)).all()
    return [(h, "config") for h in sorted(current_app.config["EXPO_EMBED_HOSTS"])] + [(e.host, "curator")
                                                                                     for e in stored]
