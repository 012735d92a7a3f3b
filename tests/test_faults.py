"""Failing parts: a worker killed while it writes renditions, the store gone for 30 s, the database locked,
restarted or failing between two statements of a decision. Every outage answers a retryable 503 in the
contract's shape, nothing half-written ever shows, and everything recovers on its own."""
import contextlib
import os
import re
import signal
import socket
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from tests import av_samples, samples
from tests.conftest import csrf_from, login, start_store, start_worker, stop_store
from tests.test_api_pavilions import assert_error, create, publish, put_draft
from tests.test_av_pipeline import requeue_silent_runs
from tests.test_uploads import put

OUTAGE_S = 30


@pytest.fixture
def pavilion(api, exhibitor):
    return create(api, exhibitor)


def assert_retryable(answer, code):
    """A 503 in the contract's JSON shape, a sentence, and when to try again."""
    assert_error(answer, 503, code)
    assert "again" in answer.get_json()["error"]["message"]
    assert int(answer.headers.get("Retry-After", 0)) > 0, "no Retry-After"


def assert_retryable_page(answer):
    """A 503 as the site's own page: a sentence to act on, when to try again, no stack trace."""
    assert answer.status_code == 503, answer.get_data(as_text=True)[:500]
    html = answer.get_data(as_text=True)
    assert answer.mimetype == "text/html" and "try again" in html and "Traceback" not in html
    assert int(answer.headers.get("Retry-After", 0)) > 0, "no Retry-After"


def _objects(app, prefix):
    """Return {key: size} of every object under PREFIX in the store."""
    from media.storage import get_storage

    with app.app_context():
        s3 = get_storage()
        pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix)
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


# --- 1. a worker killed while it writes a video's renditions ---------------------------------------------------

class StallingProxy:
    """A loopback TCP proxy to the store that stops forwarding at the rendition PUT after the first STALL_AFTER,
    so that the worker behind it hangs with a run half-written, ready to be killed."""

    def __init__(self, upstream_port, stall_after):
        self.upstream, self.stall_after, self.puts = upstream_port, stall_after, 0
        self.stalled, self.closed = threading.Event(), threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                client, _address = self.server.accept()
                self.sockets.append(client)
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
                self.sockets.append(upstream)
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, target, outgoing):
        tail = b""
        with contextlib.suppress(OSError):
            while not self.closed.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if outgoing:
                    seen = tail + data
                    starts = len(re.findall(rb"PUT /expo/media/", seen)) - len(re.findall(rb"PUT /expo/media/", tail))
                    tail = seen[-32:]
                    if starts and self.puts + starts > self.stall_after:
                        self.stalled.set()  # hold this request for ever: the worker hangs mid-run
                        self.closed.wait()
                        return
                    self.puts += starts
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self):
        self.closed.set()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _variants(master):
    return [line for line in master.splitlines() if line and not line.startswith("#")]


def _named_files(playlist):
    """Return the URIs a media playlist names: its init section and its segments."""
    return re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist) + _variants(playlist)


def test_worker_killed_while_writing_renditions_leaves_no_half_written_rendition(
        app, api, exhibitor, pavilion, stack, worker, tmp_path):
    """Extends test_av_pipeline's kill during ffmpeg: here the worker dies after storing part of its run."""
    from expo.extensions import db
    from media.models import Media

    clip = av_samples.mp4(tmp_path / "kill.mp4", seconds=9, tags=False)  # three segments of 4 s at most
    proxy = StallingProxy(int(stack.env["EXPO_S3_ENDPOINT"].rsplit(":", 1)[1]), stall_after=2)
    queues = {"EXPO_QUEUE_SHORT": "doomed-short", "EXPO_QUEUE_LONG": "doomed-long"}
    victim = start_worker(stack.root, "doomed-short,doomed-long",
                          {**queues, "EXPO_S3_ENDPOINT": f"http://127.0.0.1:{proxy.port}"})
    seen = []

    def poll():
        body = api(exhibitor).get(f"/api/v1/media/{media['id']}").get_json()
        seen.append((body["status"], body["progress"], dict(body["renditions"])))
        return body

    try:
        app.config.update(queues)
        try:
            answer = api(exhibitor).upload(pavilion["id"], clip.read_bytes(), filename="kill.mp4")
        finally:
            app.config.update(EXPO_QUEUE_SHORT="short", EXPO_QUEUE_LONG="long")
        assert answer.status_code == 202, answer.get_json()
        media = answer.get_json()
        deadline = time.monotonic() + 120
        while not proxy.stalled.is_set() and time.monotonic() < deadline:
            assert poll()["status"] in ("queued", "processing")
            time.sleep(0.2)
        assert proxy.stalled.is_set(), "the worker never started storing its renditions"
        assert poll()["status"] == "processing"
    finally:
        os.killpg(victim.pid, signal.SIGKILL)  # the whole worker, mid-write, as a crashed machine would lose it
        victim.wait()
        proxy.close()
    with app.app_context():
        killed_run = db.session.get(Media, media["id"]).attempts[0].run_id
    half = _objects(app, f"media/{media['id']}/{killed_run}/")
    assert len(half) == 2 and not any(k.endswith(".m3u8") for k in half)  # the killed run: files, no playlist

    requeue_silent_runs(app)
    deadline = time.monotonic() + 150
    while (body := poll())["status"] not in ("ready", "failed") and time.monotonic() < deadline:
        time.sleep(0.25)
    assert body["status"] == "ready", body
    # Until it was ready the API never offered a rendition, so nothing could link to a half-written run.
    assert all(renditions == {} for status, _p, renditions in seen if status != "ready"), seen
    assert any(status == "processing" for status, _p, _r in seen)

    with app.app_context():
        row = db.session.get(Media, media["id"])
        final_run = row.run_id
        assert [a.outcome for a in row.attempts] == ["running", "ready"]
    assert final_run != killed_run
    assert all(killed_run not in url for url in body["renditions"].values())
    stored = _objects(app, f"media/{media['id']}/{final_run}/")
    assert stored and all(size > 0 for size in stored.values())
    client = api(exhibitor)
    master_url = body["renditions"]["hls"]
    master = client.get(master_url).get_data(as_text=True)
    variants = _variants(master)
    assert variants and master.rstrip().endswith(variants[-1])
    named = set()
    for variant in variants:
        variant_url = master_url.rsplit("/", 1)[0] + "/" + variant
        playlist = client.get(variant_url)
        assert playlist.status_code == 200
        text = playlist.get_data(as_text=True)
        assert text.rstrip().endswith("#EXT-X-ENDLIST"), text  # every rung complete
        files = _named_files(text)
        assert len(_variants(text)) >= 2
        for name in files:
            url = variant_url.rsplit("/", 1)[0] + "/" + name
            assert killed_run not in url
            got = client.get(url)
            assert got.status_code == 200 and len(got.data) > 0, url
            named.add(url.split(f"/{final_run}/", 1)[1])
    assert {f"media/{media['id']}/{final_run}/{name}" for name in named} <= set(stored)
    for key in half:  # what the killed run left is never served, not even to its owner
        name = key.split(f"/{killed_run}/", 1)[1]
        assert client.get(f"/media/{media['id']}/{killed_run}/{name}").status_code == 404


# --- 2. the store unreachable for 30 s during uploads and jobs --------------------------------------------------

@pytest.mark.files  # the store alone: the database only records the outcome, so CI runs it once
@pytest.mark.skipif(os.environ.get("EXPO_TEST_S3_ENDPOINT") is not None,
                    reason="stops the embedded store; an outside store cannot be stopped by the tests")
def test_store_outage_of_30_s_refuses_uploads_retryably_and_loses_nothing(
        app, api, client, exhibitor, curator, pavilion, stack, worker, tmp_path):
    """Extends test_av_pipeline's outage mid-job: uploads of both kinds during it, jobs across it, pages."""
    from expo.extensions import db
    from media.models import Media

    owner = api(exhibitor)
    cover = owner.upload(pavilion["id"], samples.jpeg(640, 480), filename="cover.jpg").get_json()
    assert owner.wait_media(cover["id"])["status"] == "ready"
    publish(api, exhibitor, curator, pavilion,
             [{"kind": "text", "html": "<p>Outage-proof booth</p>"}, {"kind": "image", "media": [cover["id"]]}])
    pages = {}
    for path in ("/", f"/pavilions/{pavilion['slug']}"):
        first = app.test_client().get(path)
        assert first.status_code == 200
        pages[path] = first.data
    assert b"Outage-proof booth" in pages[f"/pavilions/{pavilion['slug']}"]
    image = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()["blocks"][1]["media"][0]
    image_url = next(iter(image["renditions"].values()))
    assert client.get(image_url).status_code == 200

    # A direct upload whose part reached the store before the outage; completed during it.
    jpeg = samples.jpeg(800, 600, color=(10, 200, 10))
    direct = owner.post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": "d.jpg",
                                                 "size": len(jpeg)}).get_json()
    etag = put(direct["parts"][0]["url"], jpeg)
    # Jobs under way when the store goes: a video and an image.
    accepted = [owner.upload(pavilion["id"], av_samples.mp4(tmp_path / "o.mp4", seconds=3, tags=False).read_bytes(),
                             filename="o.mp4").get_json(),
                owner.upload(pavilion["id"], samples.jpeg(900, 700), filename="o.jpg").get_json()]
    assert all(m["status"] == "queued" for m in accepted)
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Media.id)).where(Media.pavilion_id == pavilion["id"]))

    stop_store(stack)
    down_at = time.monotonic()
    try:
        assert_retryable(owner.upload(pavilion["id"], samples.jpeg(300, 200), filename="late.jpg"),
                         "store_unavailable")
        assert_retryable(owner.post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": "x.jpg",
                                                             "size": 1000}), "store_unavailable")
        assert_retryable(owner.get(f"/api/v1/uploads/{direct['id']}"), "store_unavailable")
        assert_retryable(owner.post(f"/api/v1/uploads/{direct['id']}/complete",
                                    json={"parts": [{"number": 1, "etag": etag}]}), "store_unavailable")
        assert_retryable_page(client.get(image_url))  # a file of a published page: retryable, not a crash
        while time.monotonic() - down_at < OUTAGE_S:
            for path, body in pages.items():  # anonymous visitors keep getting the published pages
                answer = app.test_client().get(path)
                assert answer.status_code == 200 and answer.data == body, path
            for item in accepted:  # jobs wait and retry; none gives up while the store is away
                assert owner.get(f"/api/v1/media/{item['id']}").get_json()["status"] != "failed"
            time.sleep(1)
        with app.app_context():
            assert db.session.scalar(select(db.func.count(Media.id)).where(
                Media.pavilion_id == pavilion["id"])) == before  # the refused uploads left nothing behind
    finally:
        start_store(stack)

    done = owner.post(f"/api/v1/uploads/{direct['id']}/complete", json={"parts": [{"number": 1, "etag": etag}]})
    assert done.status_code == 202, done.get_json()
    again = owner.upload(pavilion["id"], samples.jpeg(300, 200), filename="late.jpg")  # the person tries again
    assert again.status_code == 202
    accepted += [done.get_json(), again.get_json()]
    for item in accepted:  # nothing is lost: every accepted upload ends ready
        body = owner.wait_media(item["id"], timeout=150)
        assert body["status"] == "ready", body
    assert client.get(image_url).status_code == 200


# --- 3. the database locked, restarted, or failing between two statements -----------------------------------

def _dialect(app):
    from expo.extensions import db

    with app.app_context():
        return db.engine.dialect.name


@contextlib.contextmanager
def short_lock_timeout(app, seconds=1):
    """Let the app's new connections wait SECONDS for a lock (EXPO_DB_LOCK_TIMEOUT_S), not the default 15 s."""
    from expo.extensions import db

    app.config["EXPO_DB_LOCK_TIMEOUT_S"] = seconds
    with app.app_context():
        db.engine.dispose()
    try:
        yield
    finally:
        app.config["EXPO_DB_LOCK_TIMEOUT_S"] = 15
        with app.app_context():
            db.engine.dispose()


@contextlib.contextmanager
def locked_database(app, stack, release_after=12):
    """Hold the database's lock from another connection: BEGIN EXCLUSIVE on SQLite; on PostgreSQL, ACCESS
    EXCLUSIVE on the pavilions and the rate counters (login). Released after RELEASE_AFTER s whatever happens,
    so that an app without a lock timeout answers late (and fails the test) rather than hanging it."""
    url = stack.env["EXPO_DATABASE_URL"]
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        holder = psycopg.connect(url.replace("+psycopg", ""))
        holder.execute("LOCK TABLE pavilions, rate_counters IN ACCESS EXCLUSIVE MODE")
    lock = threading.Lock()

    def release():
        with lock:
            with contextlib.suppress(Exception):
                holder.rollback()
                holder.close()

    timer = threading.Timer(release_after, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        release()


def test_a_locked_database_answers_503_then_recovers(app, api, client, exhibitor, curator, pavilion, stack):
    publish(api, exhibitor, curator, pavilion, [{"kind": "text", "html": "<p>Locked booth</p>"}])
    cached = f"/pavilions/{pavilion['slug']}"
    visitor = app.test_client()
    assert visitor.get(cached).status_code == 200  # now in the page cache
    login_page = client.get("/login").get_data(as_text=True)
    form = {"email": exhibitor.email, "password": exhibitor.password, "csrf_token": csrf_from(login_page)}
    postgres = _dialect(app) == "postgresql"
    with short_lock_timeout(app):
        with locked_database(app, stack):
            started = time.monotonic()
            assert_retryable(api(exhibitor).post("/api/v1/pavilions", json={"name": "During the lock"}),
                             "database_unavailable")
            assert_retryable_page(client.post("/login", data=form))
            answer = visitor.get(cached)  # the published page, from the cache, even where reads are locked
            assert answer.status_code == 200 and "Locked booth" in answer.get_data(as_text=True)
            if postgres:  # reads wait for the lock too: an uncached page gives the friendly 503
                assert_retryable_page(visitor.get(f"{cached}?uncached=1"))
                assert_retryable(api().get(f"/api/v1/pavilions/{pavilion['slug']}"), "database_unavailable")
            else:  # WAL: readers never wait for a writer
                assert api().get(f"/api/v1/pavilions/{pavilion['slug']}").status_code == 200
            assert time.monotonic() - started < 10, "the requests waited for the lock instead of giving up"
        assert api(exhibitor).post("/api/v1/pavilions", json={"name": "After the lock"}).status_code == 201
        assert login(client, exhibitor).status_code == 302
        assert visitor.get(f"{cached}?uncached=2").status_code == 200


def _drop_connections(app, stack):
    """Kill the database connections under the app: every other backend of the database on PostgreSQL (as a
    restart does); on SQLite, the connections idle in the app's pool are closed behind its back."""
    from expo.extensions import db

    url = stack.env["EXPO_DATABASE_URL"]
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        return killed
    with app.app_context():
        records = list(db.engine.pool._pool.queue)  # noqa: SLF001 - the pooled connections themselves
    for record in records:
        record.dbapi_connection.close()
    return len(records)


def test_a_restarted_database_is_survived_by_the_site_and_the_worker(app, api, exhibitor, curator, pavilion, stack,
                                                                     worker):
    publish(api, exhibitor, curator, pavilion, [{"kind": "text", "html": "<p>Restart booth</p>"}])
    for _ in range(3):  # fill the pool
        assert api().get(f"/api/v1/pavilions/{pavilion['slug']}").status_code == 200
    assert _drop_connections(app, stack) >= 1
    # Every pooled connection is dead; the pre-ping replaces each one as it is checked out.
    for _ in range(3):
        answer = api().get(f"/api/v1/pavilions/{pavilion['slug']}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
    assert api(exhibitor).post("/api/v1/pavilions", json={"name": "After the restart"}).status_code == 201
    assert app.test_client().get(f"/pavilions/{pavilion['slug']}?fresh=1").status_code == 200
    # The worker lost its connections too (PostgreSQL) and still processes the next upload.
    media = api(exhibitor).upload(pavilion["id"], samples.jpeg(320, 240), filename="after.jpg").get_json()
    assert api(exhibitor).wait_media(media["id"])["status"] == "ready"


@contextlib.contextmanager
def failing_statement(app, pattern):
    """Make the database fail (as a dropped connection would) at the first statement matching PATTERN."""
    from expo.extensions import db

    hits = []

    def fail(_conn, _cursor, statement, parameters, _context, _many):
        if re.search(pattern, statement, re.S | re.I):
            hits.append(statement)
            raise OperationalError(statement, parameters, Exception("server closed the connection unexpectedly"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield hits
    finally:
        event.remove(engine, "before_cursor_execute", fail)


def _state(app, pavilion_id):
    """Return what the database holds: (live revision, pavilion status, {revision: (state, [decisions])})."""
    from expo.extensions import db
    from pavilions.models import Pavilion

    with app.app_context():
        row = db.session.get(Pavilion, pavilion_id)
        return row.live_revision_id, str(row.status), {
            r.id: (str(r.state), [str(d.decision) for d in r.decisions]) for r in row.revisions}


def test_a_decision_or_submission_cut_off_midway_is_all_or_nothing(app, api, client, exhibitor, curator, pavilion):
    first = publish(api, exhibitor, curator, pavilion, [{"kind": "text", "html": "<p>first words</p>"}])
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>zebracorn</p>"}]) \
        .status_code == 200
    second = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    before = _state(app, pavilion["id"])
    assert before == (first, "submitted", {first: ("approved", ["approve"]), second: ("pending", [])})

    # The approval fails at its last statement, after the decision, revision state, media and search rows.
    with failing_statement(app, r"^UPDATE pavilions SET .*live_revision_id") as hits:
        assert_retryable(api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "approve"}),
                         "database_unavailable")
        login(client, curator)
        form = client.get(f"/review/{second}").get_data(as_text=True)
        assert_retryable_page(client.post(f"/review/{second}", data={"decision": "approve",
                                                                    "csrf_token": csrf_from(form)}))
    assert len(hits) == 2
    assert _state(app, pavilion["id"]) == before  # nothing of either attempt stayed
    published = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()
    assert "first words" in str(published["blocks"])
    assert api().get("/api/v1/pavilions?q=zebracorn").get_json()["items"] == []

    assert api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "approve"}).status_code == 200
    assert _state(app, pavilion["id"]) == (second, "published", {first: ("approved", ["approve"]),
                                                                 second: ("approved", ["approve"])})
    assert [i["slug"] for i in api().get("/api/v1/pavilions?q=zebracorn").get_json()["items"]] == [pavilion["slug"]]

    # A resubmission fails after superseding the pending one and inserting the new revision.
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>third</p>"}]) \
        .status_code == 200
    third = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>fourth</p>"}]) \
        .status_code == 200
    before = _state(app, pavilion["id"])
    assert before[2][third] == ("pending", [])
    with failing_statement(app, r"^INSERT INTO revisions") as hits:
        assert_retryable(api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit"), "database_unavailable")
    assert hits and _state(app, pavilion["id"]) == before
    fourth = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    live, status, revisions = _state(app, pavilion["id"])
    assert (live, status) == (second, "submitted") and len(revisions) == 4
    assert revisions[third] == ("superseded", ["supersede"]) and revisions[fourth] == ("pending", [])


def test_outage_answers_come_with_a_retry_hint_on_the_media_files(app, api, exhibitor, curator, pavilion, worker):
    """A rendition fetch while the store is unreachable (simulated for one request) is a 503, never a 500."""
    from media import storage

    media = api(exhibitor).upload(pavilion["id"], samples.jpeg(320, 240), filename="hint.jpg").get_json()
    ready = api(exhibitor).wait_media(media["id"])
    url = next(iter(ready["renditions"].values()))

    def down(*_args, **_kwargs):
        raise storage.StoreUnavailable("connection refused")

    with app.app_context():
        s3 = storage.get_storage()
    original = s3.get
    s3.get = down
    try:
        assert_retryable_page(api(exhibitor).get(url))
    finally:
        s3.get = original
    assert api(exhibitor).get(url).status_code == 200


def test_published_pages_are_served_from_the_cache_while_the_database_fails(app, api, exhibitor, curator, pavilion):
    from pavilions import freshness

    publish(api, exhibitor, curator, pavilion, [{"kind": "text", "html": "<p>Stale but served</p>"}])
    path = f"/pavilions/{pavilion['slug']}"
    visitor = app.test_client()
    kept = visitor.get(path)
    assert kept.status_code == 200
    with failing_statement(app, r"^\s*SELECT") as hits:  # every read fails, as while the database restarts
        freshness.forget()  # the content generation must come from the database now
        again = visitor.get(path)
        assert hits, "the request never reached the database"
        assert again.status_code == 200 and again.data == kept.data
        assert_retryable_page(visitor.get(f"{path}?not-cached=1"))
        assert_retryable(api().get(f"/api/v1/pavilions/{pavilion['slug']}"), "database_unavailable")
    freshness.forget()
    assert visitor.get(f"{path}?not-cached=1").status_code == 200


def test_the_upload_pages_calls_answer_an_outage_retryably(app, client, exhibitor, pavilion, monkeypatch):
    """The studio's upload page: its script's calls get a 503 in the contract's shape with Retry-After, whether the
    store's absence surfaces as the pipeline's own refusal or as a raw store or database error."""
    from media import multipart, storage

    login(client, exhibitor)
    page = client.get(f"/studio/pavilions/{pavilion['id']}/upload")
    headers = {"X-CSRFToken": csrf_from(page.get_data(as_text=True)), "Accept": "application/json"}
    start = f"/studio/pavilions/{pavilion['id']}/uploads"
    body = {"filename": "booth.jpg", "size": 1000}
    original = multipart.start
    failures = [storage.StoreUnavailable("connection refused"),
                OperationalError("UPDATE uploads", {}, sqlite3.OperationalError("database is locked"))]
    for failure in failures:
        def down(*_args, _failure=failure, **_kwargs):
            raise _failure

        monkeypatch.setattr(multipart, "start", down)
        answer = client.post(start, json=body, headers=headers)
        assert_retryable(answer, "store_unavailable" if failure is failures[0] else "database_unavailable")
    monkeypatch.setattr(multipart, "start", original)
    assert client.post(start, json=body, headers=headers).status_code == 201


def test_the_sandbox_answers_an_outage_with_a_retryable_503(app, api, exhibitor, pavilion, worker, monkeypatch):
    """The H5 origin: while the store is away a bundle's file is a plain 503 with Retry-After, never a 500."""
    from urllib.parse import urlsplit

    from config import TestConfig
    from expo.extensions import db
    from expo.sandbox import create_sandbox_app
    from media import storage
    from tests.test_h5 import promo, upload_ready

    media = upload_ready(api, exhibitor, pavilion["id"], promo())
    path = urlsplit(media["renditions"]["index"]).path
    sandbox_app = create_sandbox_app(TestConfig())
    sandbox = sandbox_app.test_client()
    assert sandbox.get(path).status_code == 200
    with sandbox_app.app_context():
        store = storage.get_storage()  # the sandbox app's own

    def down(*_args, **_kwargs):
        raise storage.StoreUnavailable("connection refused")

    monkeypatch.setattr(store, "get", down)
    answer = sandbox.get(path)
    assert answer.status_code == 503 and answer.mimetype == "text/plain", answer.data[:300]
    assert b"again" in answer.data and int(answer.headers["Retry-After"]) > 0
    monkeypatch.undo()
    assert sandbox.get(path).status_code == 200
    with sandbox_app.app_context():
        db.engine.dispose()
