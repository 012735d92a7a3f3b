"""Fixtures: a real SeaweedFS, a real database and broker, a real Celery worker, the app and its clients.

Services come from EXPO_TEST_DATABASE_URL, EXPO_TEST_BROKER_URL and EXPO_TEST_S3_ENDPOINT (with
EXPO_TEST_S3_ACCESS_KEY / EXPO_TEST_S3_SECRET_KEY) when set; otherwise SQLite, the SQLAlchemy broker
and a SeaweedFS on free loopback ports are started under a temporary directory.
"""
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def _reset_postgres(url):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _reset_redis(url):
    import redis

    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Start or name the services and export them as EXPO_* variables for the app and its workers."""
    from expo import store

    root = tmp_path_factory.mktemp("expo")
    env = {"EXPO_DATA_DIR": str(root), "EXPO_LOGIN_LIMIT": "10"}
    env["EXPO_DATABASE_URL"] = os.environ.get("EXPO_TEST_DATABASE_URL") or f"sqlite:///{root / 'test.sqlite'}"
    env["EXPO_BROKER_URL"] = os.environ.get("EXPO_TEST_BROKER_URL") or f"sqla+sqlite:///{root / 'broker.sqlite'}"
    if env["EXPO_DATABASE_URL"].startswith("postgresql"):
        _reset_postgres(env["EXPO_DATABASE_URL"])
    if env["EXPO_BROKER_URL"].startswith("redis"):
        _reset_redis(env["EXPO_BROKER_URL"])
    weed = None
    if os.environ.get("EXPO_TEST_S3_ENDPOINT"):
        env.update(EXPO_S3_ENDPOINT=os.environ["EXPO_TEST_S3_ENDPOINT"],
                   EXPO_S3_ACCESS_KEY=os.environ["EXPO_TEST_S3_ACCESS_KEY"],
                   EXPO_S3_SECRET_KEY=os.environ["EXPO_TEST_S3_SECRET_KEY"])
    else:
        port = store.free_ports(1)[0]
        weed, endpoint, keys = store.start(root / "store", "127.0.0.1", port, "expo", root / "store.log")
        env.update(EXPO_S3_ENDPOINT=endpoint, EXPO_S3_ACCESS_KEY=keys["access_key"],
                   EXPO_S3_SECRET_KEY=keys["secret_key"])
    env["EXPO_S3_BUCKET"] = "expo"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    services = SimpleNamespace(root=root, env=env, weed=weed)
    yield services
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if services.weed is not None:  # the tests may have restarted it
        _stop(services.weed)


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _stop(process):
    """Stop PROCESS and its process group: SIGTERM, then SIGKILL after 10 s (weed sometimes lingers)."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def stop_store(stack):
    """Stop the session's SeaweedFS (an outage)."""
    _stop(stack.weed)


def start_store(stack):
    """Start the session's SeaweedFS again on the same S3 port, keys and data."""
    from expo import store

    port = int(stack.env["EXPO_S3_ENDPOINT"].rsplit(":", 1)[1])
    stack.weed, _endpoint, _keys = store.start(stack.root / "store", "127.0.0.1", port, "expo",
                                               stack.root / "store.log")


def start_worker(root, queues="short,long", env=None):
    """Start a Celery worker process on QUEUES; return it once it is ready."""
    log_path = root / f"worker-{secrets.token_hex(3)}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "expo.worker", "worker", "-Q", queues, "--concurrency", "2",
             "--loglevel", "INFO", "-n", f"test-{secrets.token_hex(3)}@%h", "--without-gossip", "--without-mingle"],
            # Full priority: the suite waits on its worker, while `serve` runs workers niced (tests/test_serve.py).
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "EXPO_WORKER_NICE": "0", **(env or {})},
            start_new_session=True)
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process):
    _stop(process)


@pytest.fixture(scope="session")
def app(stack):
    """The app on the session's services, with the migrations applied."""
    import flask_migrate

    from config import TestConfig
    from expo import create_app

    application = create_app(TestConfig())
    application.test_client_class = EnglishClient
    with application.app_context():
        flask_migrate.upgrade(revision="heads")  # every branch, should two be open at once
    return application


class EnglishClient(FlaskClient):
    """The tests read the English interface unless a request names its language (tests/test_i18n.py does)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")


@pytest.fixture(scope="session")
def worker(app, stack):
    """A real Celery worker process on the session's broker, database and store."""
    process = start_worker(stack.root)
    yield process
    stop_worker(process)


@pytest.fixture
def ctx(app):
    with app.app_context() as context:
        yield context


@pytest.fixture
def client(app):
    """A test client from an address of its own, so rate limits of one test never touch another."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}." \
                                              f"{secrets.randbelow(250) + 1}"

    return test_client


def new_user(app, role="exhibitor"):
    """Create a user of ROLE with a token in APP: namespace(id, email, password, token, role)."""
    from expo import accounts
    from expo.extensions import db

    email = f"{role}-{secrets.token_hex(5)}@test.expo"
    with app.app_context():
        user = accounts.create_user(email, PASSWORD, role)
        token = accounts.mint_token(user)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=email, password=PASSWORD, token=token, role=role)


@pytest.fixture
def make_user(app):
    """Create a user with a token: make_user('curator') -> namespace(id, email, password, token)."""
    return lambda role="exhibitor": new_user(app, role)


class Api:
    """Calls the JSON API with a bearer token."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(), **kw)

    def put(self, path, json=None, **kw):
        return self.client.put(path, json=json, headers=self._headers(), **kw)

    def upload(self, pavilion_id, data, filename="photo.jpg", kind=None):
        import io

        from werkzeug.test import EnvironBuilder

        form = {"pavilion_id": pavilion_id, "file": (io.BytesIO(data), filename)}
        if kind:
            form["kind"] = kind
        builder = EnvironBuilder(path="/api/v1/media", method="POST", data=form, headers=self._headers(),
                                 environ_base=self.client.environ_base)
        environ = builder.get_environ()
        builder.close()
        try:
            # Werkzeug spools a large encoded body to a temporary file that its test client never closes.
            return self.client.open(environ)
        finally:
            environ["wsgi.input"].close()

    def wait_media(self, media_id, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/api/v1/media/{media_id}").get_json()
            if body["status"] in ("ready", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.25)


@pytest.fixture
def api(client):
    return lambda user=None: Api(client, user.token if user else None)


@pytest.fixture
def exhibitor(make_user):
    return make_user("exhibitor")


@pytest.fixture
def curator(make_user):
    return make_user("curator")


def csrf_from(html):
    """Return the CSRF token in a page's form."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client, user):
    page = client.get("/login")
    answer = client.post("/login", data={"email": user.email, "password": user.password,
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer


def pytest_collection_modifyitems(items):
    """Mark every test of a `*_browser.py` module `browser` (they drive Debian's Chromium)."""
    for item in items:
        if item.path.name.endswith("_browser.py"):
            item.add_marker(pytest.mark.browser)
