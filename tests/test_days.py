"""Themed days: the contract's rows, curator-only writes, the hall's banner, schedule and day filter, caching."""
import re
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import csrf_from, login
from tests.test_api_pavilions import assert_error, create, put_draft
from tests.test_search import approve, hall_slugs, listing, publish

DAY_KEYS = {"slug", "name", "date", "summary", "pavilions", "works", "contests"}


def some_date():
    """A date no other test uses (days have unique dates, and today's is kept for the banner test)."""
    return (date(2100, 1, 1) + timedelta(days=secrets.randbelow(300_000))).isoformat()


def slug():
    return f"day-{secrets.token_hex(4)}"


def make_day(api, curator, **fields):
    body = {"slug": slug(), "name": "Campus Day", "date": some_date(), "summary": "For students.", **fields}
    answer = api(curator).post("/api/v1/days", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def listed(api, day_slug):
    answer = api().get("/api/v1/days")
    assert answer.status_code == 200
    return next(d for d in answer.get_json() if d["slug"] == day_slug)


def test_days_are_listed_in_date_order_with_the_contract_shape(api, curator, exhibitor):
    pav = publish(api, exhibitor, curator, "Day booth")
    first = make_day(api, curator, date="2099-01-03", pavilions=[pav["slug"]], contests=["c-1", "c-2"])
    second = make_day(api, curator, date="2099-01-02", name="法治日", summary="学法")
    assert set(first) == DAY_KEYS
    assert first == {"slug": first["slug"], "name": "Campus Day", "date": "2099-01-03", "summary": "For students.",
                     "pavilions": [pav["slug"]], "works": [], "contests": ["c-1", "c-2"]}
    days = api().get("/api/v1/days").get_json()
    assert all(set(d) == DAY_KEYS for d in days)
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    slugs = [d["slug"] for d in days]
    assert slugs.index(second["slug"]) < slugs.index(first["slug"])
    assert listed(api, second["slug"])["name"] == "法治日"


def test_pavilions_are_given_by_slug_or_id_and_unpublished_ones_never_appear(api, curator, exhibitor):
    shown = publish(api, exhibitor, curator, "Shown booth")
    hidden = create(api, exhibitor, "Hidden booth")
    day = make_day(api, curator, pavilions=[hidden["id"], shown["id"]])
    assert day["pavilions"] == [shown["slug"]]
    assert listed(api, day["slug"])["pavilions"] == [shown["slug"]]
    page = api().get(f"/days/{day['slug']}").get_data(as_text=True)
    assert f'data-pavilion="{shown["slug"]}"' in page and hidden["slug"] not in page
    assert hall_slugs(api().client, day=day["slug"]) == [shown["slug"]]


@pytest.mark.parametrize("changes,status,code", [
    ({"name": ""}, 422, "name_required"),
    ({"date": "next monday"}, 422, "invalid_date"),
    ({"slug": "Bad Slug"}, 422, "invalid_slug"),
    ({"pavilions": ["no-such-pavilion"]}, 422, "unknown_pavilion"),
    ({"works": ["nope"]}, 422, "unknown_work"),
    ({"contests": "c-1"}, 422, "invalid_contests"),
    ({"banner": "nope"}, 422, "invalid_banner"),
])
def test_bad_days_are_refused_with_a_clear_error(api, curator, changes, status, code):
    body = {"slug": slug(), "name": "x", "date": some_date(), **changes}
    assert_error(api(curator).post("/api/v1/days", json=body), status, code)


def test_a_taken_slug_or_date_is_a_conflict(api, curator):
    day = make_day(api, curator)
    assert_error(api(curator).post("/api/v1/days", json={"slug": day["slug"], "name": "x", "date": some_date()}),
                 409, "slug_taken")
    assert_error(api(curator).post("/api/v1/days", json={"slug": slug(), "name": "x", "date": day["date"]}),
                 409, "date_taken")


def test_only_curators_create_days(api, exhibitor):
    body = {"slug": slug(), "name": "x", "date": some_date()}
    assert_error(api().post("/api/v1/days", json=body), 401, "unauthorized")
    assert_error(api(exhibitor).post("/api/v1/days", json=body), 403, "forbidden")
    assert_error(api(exhibitor).post("/api/v1/days", data="x", content_type="text/plain"), 403)


def test_day_filter_narrows_the_pavilion_list(api, curator, exhibitor):
    inside = publish(api, exhibitor, curator, "Inside booth")
    publish(api, exhibitor, curator, "Outside booth")
    day = make_day(api, curator, pavilions=[inside["slug"]])
    assert [i["slug"] for i in listing(api, day=day["slug"])["items"]] == [inside["slug"]]
    assert listing(api, day="no-such-day")["items"] == []


def test_hall_features_todays_day_and_marks_it_in_the_schedule(app, api, curator):
    today = datetime.now(ZoneInfo(app.config["EXPO_TIMEZONE"])).date()
    assert app.config["EXPO_TIMEZONE"] == "Asia/Shanghai"
    existing = next((d for d in api().get("/api/v1/days").get_json() if d["date"] == today.isoformat()), None)
    day = existing or make_day(api, curator, date=today.isoformat(), name="Finance Day today")
    tomorrow = make_day(api, curator, date=(today + timedelta(days=1)).isoformat()) \
        if not any(d["date"] == (today + timedelta(days=1)).isoformat() for d in api().get("/api/v1/days").get_json()) \
        else None
    html = app.test_client().get("/").get_data(as_text=True)
    assert f'data-today="{day["slug"]}"' in html and day["name"] in html
    current = re.findall(r'<a href="/days/([^"]+)" aria-current="date">', html)
    assert current == [day["slug"]]
    if tomorrow:
        assert f'href="/days/{tomorrow["slug"]}"' in html
    # A search or filter shows results, not the banner.
    assert "data-today" not in app.test_client().get("/?q=booth").get_data(as_text=True)
    page = app.test_client().get(f"/days/{day['slug']}").get_data(as_text=True)
    assert day["name"] in page and 'href="/static/css/programme-days.css' in page


def test_day_page_links_contests_and_the_broadcast(api, curator):
    day = make_day(api, curator, contests=["quiz-1"], broadcast="b-7")
    page = api().get(f"/days/{day['slug']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/contests/quiz-1"' in html and 'href="/live"' in html
    assert "<script>" not in html and "style=" not in html
    assert api().get("/days/no-such-day").status_code == 404


def test_curators_create_and_change_days_on_the_web(app, api, client, curator, exhibitor):
    pav = publish(api, exhibitor, curator, "Web day booth")
    login(client, curator)
    form = client.get("/review/days")
    assert form.status_code == 200
    day_slug, when = slug(), some_date()
    answer = client.post("/review/days", data={"csrf_token": csrf_from(form.get_data(as_text=True)), "slug": day_slug,
                                               "date": when, "name": "Youth Day", "pavilions": [pav["id"]],
                                               "contests": "q-1, q-2"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert listed(api, day_slug) == {"slug": day_slug, "name": "Youth Day", "date": when, "summary": "",
                                     "pavilions": [pav["slug"]], "works": [], "contests": ["q-1", "q-2"]}
    visitor = app.test_client()
    assert "Youth Day" in visitor.get(f"/days/{day_slug}").get_data(as_text=True)  # now in the page cache
    edit = client.get(f"/review/days/{day_slug}")
    assert 'value="Youth Day"' in edit.get_data(as_text=True)
    answer = client.post(f"/review/days/{day_slug}", data={
        "csrf_token": csrf_from(edit.get_data(as_text=True)), "slug": day_slug, "date": when, "name": "Youth Day 2"})
    assert answer.status_code == 302
    assert "Youth Day 2" in visitor.get(f"/days/{day_slug}").get_data(as_text=True)  # the cache moved on
    assert listed(api, day_slug)["pavilions"] == []
    bad = client.post("/review/days", data={"csrf_token": csrf_from(edit.get_data(as_text=True)), "slug": slug(),
                                            "date": when, "name": "Clash"})
    assert bad.status_code == 200 and "already has a themed day" in bad.get_data(as_text=True)


def test_exhibitors_cannot_open_the_curators_day_pages(client, exhibitor):
    login(client, exhibitor)
    assert client.get("/review/days").status_code == 403
    assert client.get("/review/works").status_code == 403


def test_new_day_moves_the_page_generation(app, api, curator):
    with app.app_context():
        before = app.extensions["expo_page_generation"]()
    make_day(api, curator)
    with app.app_context():
        assert app.extensions["expo_page_generation"]() != before


def test_demo_seed_creates_the_week_once(app, api, curator, exhibitor, worker):
    from expo.extensions import db
    from expo.models import User
    from pavilions.programme.days_seed import seed_demo

    campus = create(api, exhibitor, "Seed campus booth", slug=f"campus-{secrets.token_hex(3)}")
    assert put_draft(api, exhibitor, campus["id"], blocks=[{"kind": "text", "html": "<p>x</p>"}]).status_code == 200
    approve(api, exhibitor, curator, campus)
    other = publish(api, exhibitor, curator, "Seed other booth")
    with app.app_context():
        user = db.session.get(User, curator.id)
        created = seed_demo(user, [campus["slug"], other["slug"]])
        assert seed_demo(user, [campus["slug"], other["slug"]]) == 0  # idempotent
    days = {d["slug"]: d for d in api().get("/api/v1/days").get_json()}
    seeded = [s for s in ("campus-day", "telecom-day", "rule-of-law-day", "finance-day", "youth-day",
                          "personal-information-day") if s in days]
    assert created == len(seeded) and created >= 4  # the banner test may have taken today and tomorrow
    assert campus["slug"] in days["youth-day"]["pavilions"]
    assert all(days[s]["works"] for s in seeded)
    works_listed = api().get("/api/v1/works", query_string={"limit": 100}).get_json()["items"]
    assert len(works_listed) >= 4 and any(w["kind"] == "image" and w["media"][0]["renditions"] for w in works_listed)
