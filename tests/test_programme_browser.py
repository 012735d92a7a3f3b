"""The programme in Debian's Chromium: a new visitor follows today's themed day from the hall to a knowledge
contest (register, start, answer, result, leaderboard, one attempt only), and the live broadcast page (playback
counted by its heartbeat; a countdown before the start)."""
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import av_samples
from tests.browsers import ARGS, launch, require_chromium
from tests.test_api_pavilions import _submit, create, put_draft
from tests.test_contests import QUESTIONS, make_contest, truth

require_chromium()  # skips this module with a reason outside CI when Chromium is missing
from tests.test_browser import live  # noqa: E402, F401 - the session app on a free port

EXPLANATIONS = [q["explanation"] for q in QUESTIONS]
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


@pytest.fixture
def context(browser):
    """A fresh English browser context whose pages collect script errors in context.errors."""
    ctx = browser.new_context(locale="en-US")
    ctx.errors = []
    ctx.on("page", lambda tab: tab.on("pageerror", lambda error: ctx.errors.append(str(error))))
    yield ctx
    ctx.close()


def _publish(api, exhibitor, curator, name, blocks):
    pavilion = create(api, exhibitor, name=name, summary=f"{name}: the summary")
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pavilion


def _todays_day(app, api, curator, pavilion, contest):
    """Make today's themed day (Asia/Shanghai) show PAVILION and CONTEST; return {"slug", "date"}.

    Days have unique dates and tests/test_days.py may already have made today's: then the curator adds the
    pavilion and the contest to that day, as the day's edit page does."""
    today = datetime.now(ZoneInfo(app.config["EXPO_TIMEZONE"])).date()
    body = {"slug": f"today-{secrets.token_hex(4)}", "date": today.isoformat(), "name": "Browser Day",
            "summary": "Follow the programme.", "pavilions": [pavilion["slug"]], "contests": [contest["id"]]}
    answer = api(curator).post("/api/v1/days", json=body)
    if answer.status_code == 201:
        return answer.get_json()
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "date_taken", answer.get_json()
    from expo.extensions import db
    from expo.models import User
    from pavilions.programme import days_services

    with app.app_context():
        day = days_services.of_date(today)
        data = {"slug": day.slug, "date": day.date, "name": day.name, "name_en": day.name_en,
                "summary": day.summary, "summary_en": day.summary_en, "banner": day.banner_media_id,
                "broadcast": day.broadcast_id,
                "pavilions": [link.pavilion_id for link in day.pavilion_links] + [pavilion["id"]],
                "works": [link.work_id for link in day.work_links], "contests": [*day.contest_ids, contest["id"]]}
        days_services.save_day(db.session.get(User, curator.id), data, day)
        db.session.commit()
        return {"slug": day.slug, "date": today.isoformat()}


def _no_explanation(html, where):
    leaked = [text for text in EXPLANATIONS if text in html]
    assert not leaked, f"{where} shows the explanations {leaked} before the answers are submitted"


def test_a_new_visitor_follows_todays_day_to_a_contest(app, live, context, api, exhibitor, curator):  # noqa: F811
    from expo.extensions import db
    from pavilions.programme.models_contests import Attempt

    pavilion = _publish(api, exhibitor, curator, f"Day booth {secrets.token_hex(2)}",
                        [{"kind": "text", "html": "<p>Passwords and phishing.</p>"}])
    contest = make_contest(api, curator)
    day = _todays_day(app, api, curator, pavilion, contest)
    name = f"Browser Visitor {secrets.token_hex(3)}"
    page = context.new_page()

    # The hall: today's banner links the day's page.
    page.goto(f"{live}/")
    banner = page.locator(f'section.day-banner[data-today="{day["slug"]}"]')
    assert banner.count() == 1, "the hall does not feature today's themed day"
    assert "Today" in banner.locator(".day-date").text_content()
    _no_explanation(page.content(), "the hall")
    banner.locator("h2 a").click()
    page.wait_for_url(f"{live}/days/{day['slug']}")
    assert page.locator(f'li.card[data-pavilion="{pavilion["slug"]}"]').count() == 1
    assert "Today" in page.text_content(".day-date")
    _no_explanation(page.content(), "the day page")

    # The day page links the contest; a visitor without an account is offered to register.
    page.locator(f'a[href="/contests/{contest["id"]}"]').click()
    page.wait_for_url(f"{live}/contests/{contest['id']}")
    assert page.text_content("h1") == contest["title"]
    assert page.locator("button:has-text('Start the contest')").count() == 0  # signed out: no start button
    _no_explanation(page.content(), "the contest page")
    page.locator("main a", has_text="Register").first.click()
    page.wait_for_url(f"{live}/register**")
    _no_explanation(page.content(), "the register page")
    page.fill("#email", f"b-{secrets.token_hex(5)}@test.expo")
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{live}/contests/{contest['id']}")  # back where the visitor came from, signed in
    assert name in page.text_content(".flash")
    _no_explanation(page.content(), "the contest page, signed in")

    # A second tab of the same contest page, still showing the start button: used after the attempt.
    stale = context.new_page()
    stale.goto(f"{live}/contests/{contest['id']}")

    page.click("button:has-text('Start the contest')")
    page.wait_for_url(re.compile(r".*/attempts/[^/]+$"))
    attempt_url = page.url
    fieldsets = page.locator("form.quiz fieldset.question")
    assert fieldsets.count() == 3
    page.wait_for_function("() => /\\d+:\\d\\d/.test(document.querySelector('.countdown .remaining').textContent)")
    _no_explanation(page.content(), "the attempt page")
    ids = [fieldsets.nth(i).locator("input").first.get_attribute("name").removeprefix("q-") for i in range(3)]
    facts = truth(app, {"questions": [{"id": qid} for qid in ids]})
    for i, qid in enumerate(ids):
        _kind, options, right = facts[qid]
        text_of = {option_id: text for text, option_id in options.items()}
        for option_id in right:  # the right options, picked by their visible text
            fieldsets.nth(i).get_by_label(text_of[option_id], exact=True).check()
    _no_explanation(page.content(), "the filled attempt page")
    page.click("form.quiz button[type=submit]")

    # The result: the score and every explanation.
    page.wait_for_selector("p.score")
    assert page.url == attempt_url
    assert "3 of 3 correct" in page.text_content("p.score")
    assert sorted(page.locator("p.explanation").all_text_contents()) == sorted(EXPLANATIONS)
    assert page.locator("li.result.right").count() == 3

    # The leaderboard lists the visitor by display name with the score.
    page.locator("main a", has_text="Leaderboard").click()
    page.wait_for_url(f"{live}/contests/{contest['id']}/leaderboard")
    rows = [[cell.strip() for cell in row.locator("td").all_text_contents()]
            for row in page.locator("table.leaderboard tbody tr").all()]
    assert [row[1:3] for row in rows if row[1] == name] == [[name, "3"]], rows

    # Starting again from the stale tab is refused, with the reason on the page; no second attempt exists.
    _no_explanation(stale.content(), "the second tab before starting")
    stale.click("button:has-text('Start the contest')")
    stale.wait_for_url(f"{live}/contests/{contest['id']}")
    refusal = stale.locator("p.flash.error")
    assert refusal.count() == 1, "a second start gave no message"
    assert "already taken this contest" in refusal.text_content() and "one attempt" in refusal.text_content()
    assert stale.locator("a.button", has_text="See my result").get_attribute("href") == \
        attempt_url.removeprefix(live)
    with app.app_context():
        assert db.session.query(Attempt).filter_by(contest_id=contest["id"]).count() == 1
    assert not context.errors, context.errors


def _live(api):
    answer = api().get("/api/v1/live")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_playing_the_live_broadcast_counts_the_viewer(app, live, context, api, exhibitor, curator, worker,  # noqa: F811
                                                       tmp_path):
    from expo.extensions import db
    from pavilions.programme import live_services
    from pavilions.programme.models_live import LiveViewer

    # The stream: a pipeline video's HLS master playlist, served by the app (its pavilion is published).
    booth = create(api, exhibitor, name=f"Live booth {secrets.token_hex(2)}")
    clip = av_samples.mp4(tmp_path / "live.mp4", seconds=4, tags=False)
    uploaded = api(exhibitor).upload(booth["id"], clip.read_bytes(), filename=clip.name)
    assert uploaded.status_code == 202, uploaded.get_json()
    media = api(exhibitor).wait_media(uploaded.get_json()["id"], timeout=120)
    assert media["status"] == "ready", media
    assert put_draft(api, exhibitor, booth["id"], blocks=[{"kind": "video", "media": media["id"]}]).status_code == 200
    review = _submit(api, exhibitor, booth)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    hls = media["renditions"]["hls"]
    hls = hls if hls.startswith("http") else f"{live}{hls}"

    start = datetime.now(UTC) - timedelta(seconds=5)
    body = {"title": "网络安全直播", "title_en": "Browser live", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(), "hls_url": hls}
    scheduled = api(curator).put("/api/v1/live", json=body)
    assert scheduled.status_code in (200, 201), scheduled.get_json()
    broadcast = scheduled.get_json()
    before = _live(api)
    assert before["id"] == broadcast["id"] and before["status"] == "live" and before["hls_url"] == hls

    page = context.new_page()
    beats = []
    page.on("request", lambda request: beats.append(time.monotonic())
            if request.url.endswith("/api/v1/live/heartbeat") else None)
    page.goto(f"{live}/live")
    assert page.get_attribute("#live", "data-state") == "live"
    assert page.get_attribute("video.live-player", "data-live-hls") == hls
    assert page.is_visible("video.live-player")
    assert not beats, "a heartbeat was sent before the visitor pressed play"
    page.eval_on_selector("video.live-player", "v => { v.muted = true; return v.play(); }")
    playing = time.monotonic()
    page.wait_for_function("() => document.querySelector('video.live-player').currentTime > 0.5", timeout=30_000)
    # live.js beats at once on 'playing', then every 30 s while it plays.
    deadline = time.monotonic() + 10
    while not beats and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert beats and beats[0] - playing < 10, "no heartbeat came soon after playback started"

    viewer = page.evaluate("() => localStorage.getItem('expo-viewer')")
    assert viewer and re.fullmatch(r"[A-Za-z0-9_-]{8,64}", viewer)
    deadline, now = time.monotonic() + 40, before
    while time.monotonic() < deadline:
        now = _live(api)
        if now["viewers_now"] >= before["viewers_now"] + 1 and \
                now["participants_total"] >= before["participants_total"] + 1:
            break
        time.sleep(1)
    assert now["viewers_now"] >= 1 and now["participants_total"] >= 1, now
    assert now["viewers_now"] >= before["viewers_now"] + 1, (before, now)
    assert now["participants_total"] >= before["participants_total"] + 1, (before, now)
    from pavilions.programme import stats

    stats.flush(app)  # the answer counts beats still buffered; the row comes with the next batch
    with app.app_context():  # the row is this page's viewer, under this broadcast
        assert db.session.query(LiveViewer).filter_by(
            broadcast_id=broadcast["id"], viewer=live_services.viewer_hash(viewer)).count() == 1
    assert not context.errors, context.errors


def test_an_upcoming_broadcast_counts_down(live, context, api, curator, monkeypatch):  # noqa: F811
    """A broadcast starting in an hour: the page says "Starts in" and hides the player.

    The server's live clock moves to a moment of its own, far from every other test's broadcasts (as
    tests/test_live.py's `moment` does), so that no broadcast on air now is shown instead; the page's clock is set
    to the same moment."""
    from pavilions.programme import live_services

    base = time.time() + 40 * 365 * 86400 + secrets.randbelow(86400)
    monkeypatch.setattr(live_services, "clock", lambda: base)
    base_time = datetime.fromtimestamp(base, UTC)
    start = base_time + timedelta(hours=1)
    body = {"title": "网络安全直播预告", "title_en": "Browser live, soon", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "hls_url": "https://live.example-cdn.cn/x.m3u8"}
    scheduled = api(curator).put("/api/v1/live", json=body)
    assert scheduled.status_code in (200, 201), scheduled.get_json()
    assert _live(api)["status"] == "upcoming"

    page = context.new_page()
    page.clock.install(time=base_time)
    page.goto(f"{live}/live")
    assert page.get_attribute("#live", "data-state") == "upcoming"
    countdown = page.locator("[data-countdown]")
    page.wait_for_function("() => document.querySelector('[data-countdown]').textContent.startsWith('Starts in')")
    assert re.fullmatch(r"Starts in (01:00:00|00:59:[0-5]\d)", countdown.text_content().strip()), \
        countdown.text_content()
    assert not page.is_visible("video.live-player")
    assert not context.errors, context.errors
