"""The live broadcast: scheduling (curators only, clear 422s), the current broadcast's status over time, the page,
and counting viewers with many distinct clients (viewers now over the last 60 s, participants ever)."""
import itertools
import secrets
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import csrf_from, login
from tests.test_api_pavilions import assert_error

SHAPE = {"title", "starts_at", "status", "hls_url", "viewers_now", "participants_total"}
STREAM = "https://live.example-cdn.cn/expo/index.m3u8"
_eras = itertools.count(1)


@pytest.fixture
def moment(monkeypatch):
    """A clock of its own for each test, each later than the last: one test's broadcasts never are another's
    'next'. Returns a callable that sets the time (seconds from the test's start)."""
    from pavilions.programme import live_services

    base = time.time() + 3650 * 86400 + next(_eras) * 30 * 86400
    state = {"now": base}
    monkeypatch.setattr(live_services, "clock", lambda: state["now"])

    def move(offset):
        state["now"] = base + offset
        return datetime.fromtimestamp(base + offset, UTC)

    move.base = datetime.fromtimestamp(base, UTC)
    return move


def _body(start, minutes=60, **extra):
    return {"title": "网络安全直播", "title_en": "Cyber security live", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).isoformat(), "hls_url": STREAM, **extra}


def _schedule(api, curator, start, **extra):
    answer = api(curator).put("/api/v1/live", json=_body(start, **extra))
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    return answer.get_json()


def _flush(app):
    from pavilions.programme import stats

    stats.flush(app)


def test_no_broadcast_is_a_clear_404(app, api):
    from expo.extensions import db
    from pavilions.programme.models_live import Broadcast, LiveViewer

    with app.app_context():
        db.session.query(LiveViewer).delete()
        db.session.query(Broadcast).delete()
        db.session.commit()
    answer = api().get("/api/v1/live")
    assert_error(answer, 404, "broadcast_not_found")
    assert "No broadcast" in answer.get_json()["error"]["message"]
    page = api().client.get("/live")
    assert page.status_code == 200 and "No broadcast is scheduled" in page.get_data(as_text=True)


def test_only_curators_schedule(api, exhibitor, moment):
    start = moment.base + timedelta(hours=1)
    assert_error(api().put("/api/v1/live", json=_body(start)), 401)
    assert_error(api(exhibitor).put("/api/v1/live", json=_body(start)), 403)


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"title": ""}, "invalid_title", "'title'"),
    ({"title": "x" * 201}, "invalid_title", "1 to 200"),
    ({"hls_url": "ftp://live.example.cn/a.m3u8"}, "invalid_url", "http:// or https://"),
    ({"hls_url": "javascript:alert(1)"}, "invalid_url", "'hls_url'"),
    ({"hls_url": 5}, "invalid_url", "'hls_url'"),
    ({"starts_at": "2026-12-01T19:00:00"}, "invalid_time", "offset"),
    ({"starts_at": "tomorrow"}, "invalid_time", "ISO 8601"),
    ({"ends_at": "2020-01-01T00:00:00+08:00"}, "invalid_time", "after 'starts_at'"),
    ({"replay": "no-such-video"}, "invalid_replay", "video"),
])
def test_schedule_refuses_bad_input_with_clear_messages(api, curator, moment, change, code, words):
    answer = api(curator).put("/api/v1/live", json={**_body(moment.base + timedelta(hours=1)), **change})
    assert_error(answer, 422, code)
    assert words in answer.get_json()["error"]["message"]


def test_put_creates_then_replaces_the_next_broadcast_and_status_follows_the_clock(api, curator, moment):
    start = moment.base + timedelta(hours=2)
    first = api(curator).put("/api/v1/live", json=_body(start))
    assert first.status_code == 201
    again = api(curator).put("/api/v1/live", json=_body(start, title="改期的直播"))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    current = api().get("/api/v1/live").get_json()
    assert SHAPE <= set(current)
    assert current["title"] == "改期的直播" and current["status"] == "upcoming" and current["hls_url"] == STREAM
    assert datetime.fromisoformat(current["starts_at"]) == start
    assert (current["viewers_now"], current["participants_total"]) == (0, 0)
    moment(2 * 3600 + 1)
    assert api().get("/api/v1/live").get_json()["status"] == "live"
    moment(3 * 3600 + 1)
    assert api().get("/api/v1/live").get_json()["status"] == "ended"
    # Once it has started, PUT schedules a new broadcast instead of rewriting the one that ran.
    later = api(curator).put("/api/v1/live", json=_body(start + timedelta(days=1)))
    assert later.status_code == 201 and later.get_json()["id"] != first.get_json()["id"]


def test_heartbeats_count_viewers_now_and_participants_exactly(app, api, curator, moment):
    from expo.extensions import db
    from pavilions.programme.models_live import LiveViewer

    broadcast = _schedule(api, curator, moment.base + timedelta(minutes=1))
    moment(120)
    viewers = [secrets.token_hex(8) for _ in range(500)]
    for viewer in viewers[:200]:  # these fall silent
        assert api().post("/api/v1/live/heartbeat", json={"viewer": viewer}).status_code == 200
    moment(120 + 90)
    for viewer in viewers[200:]:
        answer = api().post("/api/v1/live/heartbeat", json={"viewer": viewer})
        assert answer.status_code == 200 and set(answer.get_json()) == {"viewers_now", "participants_total"}
    moment(120 + 100)
    for viewer in viewers[200:250]:  # a second heartbeat is no new participant
        assert api().post("/api/v1/live/heartbeat", json={"viewer": viewer}).status_code == 200
    _flush(app)
    current = api().get("/api/v1/live").get_json()
    assert current["id"] == broadcast["id"]
    assert current["viewers_now"] == 300
    if app.config.get("EXPO_REDIS_URL"):  # HyperLogLog: about 0.8 % standard error
        assert abs(current["participants_total"] - 500) <= 10
    else:
        assert current["participants_total"] == 500
        with app.app_context():  # one row per distinct viewer, none per heartbeat
            rows = db.session.query(LiveViewer).filter_by(broadcast_id=broadcast["id"]).count()
        assert rows == 500
    moment(120 + 200)
    assert api().get("/api/v1/live").get_json()["viewers_now"] == 0


def test_heartbeat_rules(app, api, curator, moment):
    _schedule(api, curator, moment.base + timedelta(minutes=10))
    answer = api().post("/api/v1/live/heartbeat", json={"viewer": "abcdefgh1234"})
    assert_error(answer, 422, "not_live")
    moment(11 * 60)
    assert_error(api().post("/api/v1/live/heartbeat", json={"viewer": "<script>"}), 422, "invalid_viewer")
    assert_error(api().post("/api/v1/live/heartbeat", json={}), 422, "invalid_viewer")
    viewer = secrets.token_hex(8)
    assert api().post("/api/v1/live/heartbeat", json={"viewer": viewer}).status_code == 200
    answer = api().post("/api/v1/live/heartbeat", json={"viewer": viewer})
    assert_error(answer, 429, "heartbeat_too_soon")
    moment(11 * 60 + 30)
    assert api().post("/api/v1/live/heartbeat", json={"viewer": viewer}).status_code == 200
    # Without a body, the page's random `vid` cookie is the viewer.
    client = api().client
    client.set_cookie("vid", secrets.token_hex(8))
    assert client.post("/api/v1/live/heartbeat").status_code == 200


def test_the_page_counts_down_then_plays_the_stream_under_a_strict_csp(app, client, curator, moment):
    from tests.conftest import Api

    Api(client, curator.token).put("/api/v1/live", json=_body(moment.base + timedelta(hours=1)))
    page = client.get("/live")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-state="upcoming"' in html and "data-countdown" in html and f'data-live-hls="{STREAM}"' in html
    assert "js/live.js" in html and "hls.light.min.js" in html and "<script>" not in html and "style=" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "https://live.example-cdn.cn" in csp.split("media-src")[1].split(";")[0]
    assert "https://live.example-cdn.cn" in csp.split("connect-src")[1].split(";")[0]
    assert "script-src 'self'" in csp
    moment(2 * 3600)
    ended = client.get("/live").get_data(as_text=True)
    assert 'data-state="ended"' in ended and "data-live-hls" not in ended


def test_curator_schedules_from_the_review_page(app, client, curator, exhibitor, moment):
    login(client, curator)
    form = client.get("/review/live")
    assert form.status_code == 200
    local = (moment.base + timedelta(hours=3)).astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    answer = client.post("/review/live", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "title": "从网页安排的直播", "hls_url": STREAM,
        "starts_at": local.isoformat(timespec="minutes"),
        "ends_at": (local + timedelta(hours=1)).isoformat(timespec="minutes")})
    assert answer.status_code == 302
    current = client.get("/api/v1/live").get_json()
    assert current["title"] == "从网页安排的直播"
    assert datetime.fromisoformat(current["starts_at"]) == (moment.base + timedelta(hours=3)).replace(second=0,
                                                                                                       microsecond=0)
    bad = client.post("/review/live", data={"csrf_token": csrf_from(form.get_data(as_text=True)), "title": "x",
                                            "hls_url": "ftp://x", "starts_at": local.isoformat(), "ends_at": ""})
    assert bad.status_code == 200 and "must be" in bad.get_data(as_text=True)
    other = client.application.test_client()
    login(other, exhibitor)
    assert other.get("/review/live").status_code == 403


def test_after_the_broadcast_the_page_plays_the_replay_like_a_pavilion_video(app, client, curator, exhibitor,
                                                                              moment):
    from expo.extensions import db
    from media.models import Media
    from media.states import MediaKind, MediaStatus
    from tests.conftest import Api

    with app.app_context():
        video = Media(owner_id=exhibitor.id, pavilion_id="none", kind=MediaKind.VIDEO, status=MediaStatus.READY,
                      original_key="test/replay", public=True, run_id="run1",
                      renditions={"hls": {"key": "replay/hls/master.m3u8"}, "poster": {"key": "replay/poster.jpg"}})
        db.session.add(video)
        db.session.commit()
        video_id = video.id
    answer = Api(client, curator.token).put("/api/v1/live", json=_body(moment.base + timedelta(minutes=5),
                                                                       replay=video_id))
    assert answer.status_code == 201 and answer.get_json()["replay"] == video_id
    moment(2 * 3600)
    html = client.get("/live").get_data(as_text=True)
    assert 'data-state="ended"' in html and 'data-block-kind="video"' in html and "data-hls=" in html
    assert "js/player.js" in html and "js/live.js" not in html


def test_the_demo_seed_puts_a_broadcast_on_air(app, api, curator, moment):
    from expo.extensions import db
    from expo.models import User
    from pavilions.programme import live_services

    with app.app_context():
        live_services.seed_demo(db.session.get(User, curator.id), STREAM)
        db.session.commit()
    current = api().get("/api/v1/live").get_json()
    assert current["status"] == "live" and current["hls_url"] == STREAM



def test_a_viewers_own_heartbeat_answer_counts_them_before_any_flush(app, api, curator, moment):
    _schedule(api, curator, moment.base + timedelta(minutes=1))
    moment(120)
    assert api().get("/api/v1/live").get_json()["viewers_now"] == 0  # fills the short-lived count cache
    first = api().post("/api/v1/live/heartbeat", json={"viewer": secrets.token_hex(8)}).get_json()
    assert first == {"viewers_now": 1, "participants_total": 1}  # not yet written: still counted
    second = api().post("/api/v1/live/heartbeat", json={"viewer": secrets.token_hex(8)}).get_json()
    assert second == {"viewers_now": 2, "participants_total": 2}
    _flush(app)
    assert api().get("/api/v1/live").get_json()["participants_total"] == 2  # written once, counted once


def test_viewers_in_a_flush_not_yet_committed_are_still_counted(app, api, curator, moment, monkeypatch):
    """Another request of the process asks for the counts while a flush has taken the buffer but not committed:
    the viewer it is writing still counts (under load this window lost viewers from the answers)."""
    import threading

    from expo.extensions import db
    from pavilions.programme import live_services

    monkeypatch.setattr(live_services, "_redis", lambda: None)  # the SQL counts, also when the broker is Redis
    _schedule(api, curator, moment.base + timedelta(minutes=1))
    moment(120)
    seen, this_thread, real_commit = [], threading.get_ident(), db.session.commit

    def ask_from_another_request():
        with app.app_context():
            live_services._counted.clear()
            seen.append(live_services.counts(live_services.current()))

    def commit_after_a_look():
        if threading.get_ident() == this_thread and not seen:  # this test's flush, not the background flusher's
            other = threading.Thread(target=ask_from_another_request)  # its own session: rows not visible yet
            other.start()
            other.join()
        real_commit()

    with app.app_context():
        broadcast = live_services.current()
        for _attempt in range(5):  # the background flusher may take the buffer first: then try again
            with live_services._lock:
                live_services._pending[(broadcast.id, live_services.viewer_hash(secrets.token_hex(8)))] = \
                    live_services.clock()
            live_services._counted.clear()
            before = live_services.counts(broadcast)
            with monkeypatch.context() as patch:
                patch.setattr(db.session, "commit", commit_after_a_look)
                live_services.flush(app)
            if seen:
                break
        live_services._counted.clear()
        after = live_services.counts(broadcast)
    assert seen == [before] and after == before, (before, seen, after)
