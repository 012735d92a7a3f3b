"""Statistics: every view of a public page is counted (cached or not) with nothing lost under concurrency, robots
are not, visits split after 30 idle minutes, plays are counted from the beacon, and a pavilion's figures are its
owner's and the curators' only (JSON, CSV with a formula guard, dashboards)."""
import csv
import io
import secrets
import threading
import time

import pytest

from tests.conftest import Api, login
from tests.test_api_pavilions import assert_error
from tests.test_caching import publish

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
TOTALS = {"page_views", "unique_visitors", "person_times", "live_participants", "contest_participants"}


def _flush(app):
    from pavilions.programme import stats

    stats.flush(app)


def _totals(app, api):
    _flush(app)
    body = api().get("/api/v1/stats").get_json()
    assert set(body) == TOTALS and all(isinstance(v, int) for v in body.values())
    return body


def _pavilion_days(api, user, pavilion_id):
    answer = api(user).get(f"/api/v1/pavilions/{pavilion_id}/stats")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["days"]


def _sum(days, field):
    return sum(d[field] for d in days)


def _visitor(app, vid=None, user_agent=BROWSER):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=f"10.9.{secrets.randbelow(250)}.1")
    if vid:
        client.set_cookie("vid", vid)
    return client


@pytest.fixture
def booth(app, api, exhibitor, curator):
    return publish(api, exhibitor, curator, f"Counted booth {secrets.token_hex(3)}")


def test_expo_figures_have_the_contract_shape(app, api):
    assert set(_totals(app, api)) == TOTALS


def test_concurrent_views_of_cached_pages_lose_nothing(app, api, exhibitor, booth):
    before, days_before = _totals(app, api), _pavilion_days(api, exhibitor, booth["id"])
    threads, per_thread, vids = 16, 40, [secrets.token_hex(8) for _ in range(16)]
    failures = []

    def visit(vid):
        client = _visitor(app, vid)
        for i in range(per_thread):
            answer = client.get(f"/pavilions/{booth['slug']}" if i % 2 else "/")
            if answer.status_code != 200 or "Set-Cookie" in answer.headers:
                failures.append(answer.status_code)

    workers = [threading.Thread(target=visit, args=(vid,)) for vid in vids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures
    after, days_after = _totals(app, api), _pavilion_days(api, exhibitor, booth["id"])
    assert after["page_views"] - before["page_views"] == threads * per_thread
    assert after["unique_visitors"] - before["unique_visitors"] == threads
    assert after["person_times"] - before["person_times"] == threads
    assert _sum(days_after, "views") - _sum(days_before, "views") == threads * per_thread // 2
    assert _sum(days_after, "unique_visitors") - _sum(days_before, "unique_visitors") == threads


def test_robots_and_staff_pages_are_not_counted_and_stats_can_be_off(app, api, booth):
    before = _totals(app, api)
    for agent in ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.4.0",
                  "Mozilla/5.0 (compatible; bingbot/2.0)", ""):
        assert _visitor(app, user_agent=agent).get(f"/pavilions/{booth['slug']}").status_code == 200
    assert _visitor(app).get("/login").status_code == 200
    assert _visitor(app).head("/").status_code == 200
    app.config["EXPO_STATS"] = False
    try:
        assert _visitor(app).get("/").status_code == 200
    finally:
        app.config["EXPO_STATS"] = True
    assert _totals(app, api)["page_views"] == before["page_views"]


def test_a_visitor_without_a_cookie_is_one_visitor_per_address_and_browser(app, api):
    before = _totals(app, api)
    client = _visitor(app)
    for _ in range(3):
        assert client.get("/").status_code == 200
    other_browser = _visitor(app, user_agent=BROWSER + " Edg/120")
    other_browser.environ_base["REMOTE_ADDR"] = client.environ_base["REMOTE_ADDR"]
    assert other_browser.get("/").status_code == 200
    after = _totals(app, api)
    assert after["page_views"] - before["page_views"] == 4
    assert after["unique_visitors"] - before["unique_visitors"] == 2


def test_person_times_split_after_thirty_idle_minutes(app, api, monkeypatch):
    from pavilions.programme import stats

    now = {"t": time.time()}
    monkeypatch.setattr(stats, "clock", lambda: now["t"])
    before = _totals(app, api)
    client = _visitor(app, secrets.token_hex(8))
    start = now["t"]
    for minutes, flush in ((0, False), (10, False), (39, True), (70, False), (75, True), (104, True), (135, True)):
        now["t"] = start + minutes * 60
        assert client.get("/").status_code == 200
        if flush:
            _flush(app)
    # Visits start at 0, 70 (31 idle minutes after 39, across a flush) and 135 (31 after 104).
    after = _totals(app, api)
    assert after["person_times"] - before["person_times"] == 3
    assert after["page_views"] - before["page_views"] == 7


def test_pavilion_figures_are_for_the_owner_and_curators_only(app, api, make_user, exhibitor, curator, booth):
    _visitor(app, secrets.token_hex(8)).get(f"/pavilions/{booth['slug']}")
    _flush(app)
    body = api(exhibitor).get(f"/api/v1/pavilions/{booth['id']}/stats").get_json()
    assert set(body) == {"pavilion", "days"} and body["pavilion"] == booth["id"]
    assert body["days"] and set(body["days"][0]) == {"day", "views", "unique_visitors", "media_plays",
                                                     "contest_entries"}
    assert api(curator).get(f"/api/v1/pavilions/{booth['id']}/stats").get_json() == body
    assert_error(api(make_user("exhibitor")).get(f"/api/v1/pavilions/{booth['id']}/stats"), 404)
    assert_error(api(make_user("visitor")).get(f"/api/v1/pavilions/{booth['id']}/stats"), 403)
    assert_error(api().get(f"/api/v1/pavilions/{booth['id']}/stats"), 401)
    answer = api(exhibitor).get(f"/api/v1/pavilions/{booth['id']}/stats?format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["day", "views", "unique_visitors", "media_plays", "contest_entries"]
    assert [[d["day"], str(d["views"]), str(d["unique_visitors"]), str(d["media_plays"]),
             str(d["contest_entries"])] for d in body["days"]] == rows[1:]


def test_csv_cells_never_start_a_formula():
    from pavilions.programme import stats_reports

    out = stats_reports.to_csv([{"day": "=HYPERLINK(\"x\")", "views": "+1", "unique_visitors": "-2",
                                 "media_plays": "@SUM(A1)", "contest_entries": 3}])
    row = list(csv.reader(io.StringIO(out)))[1]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row) and row[4] == "3"


def _public_video(app, pavilion_id, owner_id):
    from expo.extensions import db
    from media.models import Media
    from media.states import MediaKind, MediaStatus

    with app.app_context():
        media = Media(owner_id=owner_id, pavilion_id=pavilion_id, kind=MediaKind.VIDEO, status=MediaStatus.READY,
                      original_key=f"test/{secrets.token_hex(4)}", public=True, filename="lesson.mp4")
        db.session.add(media)
        db.session.commit()
        return media.id


def test_play_beacon_counts_media_plays_per_pavilion(app, api, exhibitor, booth):
    media_id = _public_video(app, booth["id"], exhibitor.id)
    before = _sum(_pavilion_days(api, exhibitor, booth["id"]), "media_plays")
    client = _visitor(app)
    for _ in range(3):  # sendBeacon posts text/plain
        answer = client.post("/api/v1/stats/play", data=f'{{"media": "{media_id}"}}', content_type="text/plain")
        assert answer.status_code == 204
    assert_error(client.post("/api/v1/stats/play", json={"media": "nope"}), 404, "media_not_found")
    _flush(app)
    assert _sum(_pavilion_days(api, exhibitor, booth["id"]), "media_plays") - before == 3
    login(client, exhibitor)
    page = client.get(f"/studio/pavilions/{booth['id']}/stats")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<svg class="chart"' in html and "lesson.mp4" in html
    assert f"/api/v1/pavilions/{booth['id']}/stats?format=csv" in html and "style=" not in html


def test_dashboards_are_for_their_audience(app, client, make_user, curator, booth):
    login(client, curator)
    page = client.get("/review/stats")
    assert page.status_code == 200 and 'data-figure="page_views"' in page.get_data(as_text=True)
    assert client.get(f"/studio/pavilions/{booth['id']}/stats").status_code == 200
    other = app.test_client()
    login(other, make_user("exhibitor"))
    assert other.get("/review/stats").status_code == 403
    assert other.get(f"/studio/pavilions/{booth['id']}/stats").status_code == 404
    assert Api(app.test_client()).get("/review/stats").status_code == 302


def test_the_vid_cookie_given_by_the_live_page_continues_the_same_visitor(app, api):
    before = _totals(app, api)
    client = _visitor(app)
    assert client.get("/").status_code == 200
    live = client.get("/live")
    assert "vid=" in live.headers.get("Set-Cookie", "") and "HttpOnly" in live.headers["Set-Cookie"]
    assert client.get("/").status_code == 200 and client.get_cookie("vid") is not None
    after = _totals(app, api)
    assert after["page_views"] - before["page_views"] == 3 and after["unique_visitors"] - before["unique_visitors"] == 1


def test_page_views_write_nothing_to_the_database_on_the_request_path(app, api, booth):
    from sqlalchemy import event

    from expo.extensions import db

    writes = []

    def note(_conn, _cursor, statement, *_args):
        if threading.current_thread().name != "expo-stats-flush" and statement.lstrip().split()[0].upper() in (
                "INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    before = _totals(app, api)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        client = _visitor(app, secrets.token_hex(8))
        for _ in range(50):
            assert client.get(f"/pavilions/{booth['slug']}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert writes == []
    assert _totals(app, api)["page_views"] - before["page_views"] == 50


def test_a_pavilions_contest_entries_reach_its_dashboard(app, api, exhibitor, curator, booth):
    from tests.test_contests import make_contest, visitor_api

    contest = make_contest(api, curator, pavilion=booth["slug"])
    for _ in range(3):
        player, _body = visitor_api(app)
        assert player.post(f"/api/v1/contests/{contest['id']}/attempts").status_code == 201
    days = _pavilion_days(api, exhibitor, booth["id"])
    assert _sum(days, "contest_entries") == 3
    bad = api(curator).post("/api/v1/contests", json={
        "title": "Nowhere", "opens_at": "2026-01-01T00:00:00+00:00", "closes_at": "2027-01-01T00:00:00+00:00",
        "time_limit_s": 60, "pavilion": "no-such-pavilion",
        "questions": [{"kind": "truefalse", "text": "x", "options": [{"text": "T", "correct": True},
                                                                     {"text": "F"}]}]})
    assert_error(bad, 422, "unknown_pavilion")
