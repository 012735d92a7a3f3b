"""Hostile visitors reaching for what is not theirs: IDOR on every id-taking route (walking the URL map), CSRF on
every form (walking the URL map), the API refusing cookie sessions for writes, and mass assignment."""
import hashlib
import io
import secrets
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from tests import samples
from tests.conftest import PASSWORD, Api, csrf_from, new_user
from tests.test_contests import make_contest

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Tables that every request may touch by design: counters of the rate limits and statistics, token use times.
VOLATILE = {"rate_counters", "stat_counters", "stat_visitors", "stat_last_seen", "live_viewers", "api_tokens",
            "media_attempts"}
# Rows the pipeline's worker updates while other tests' jobs run: only which rows exist is compared.
BY_WORKER = {"media"}


def _client(app, user=None):
    """A client from an address of its own, signed in as USER when given; .csrf holds its session's token."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}." \
                                         f"{secrets.randbelow(250) + 1}"
    client.csrf = csrf_from(client.get("/login").get_data(as_text=True))
    if user is not None:
        answer = client.post("/login", data={"email": user.email, "password": user.password,
                                             "csrf_token": client.csrf})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        client.csrf = csrf_from(client.get("/login").get_data(as_text=True))
    return client


def fingerprint(app):
    """Return a digest of every row of every table but the volatile ones: equal digests, no state change."""
    from sqlalchemy import select

    from expo.extensions import db

    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            if table.name in BY_WORKER:
                ids = db.session.scalars(select(*table.primary_key.columns).order_by(*table.primary_key.columns))
                digest.update(f"{table.name}:{list(ids)!r}".encode())
                continue
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def world(app, worker):
    """Objects of every kind owned by exhibitor X, and the people who try to reach them."""
    w = SimpleNamespace(x=new_user(app, "exhibitor"), y=new_user(app, "exhibitor"), visitor=new_user(app, "visitor"),
                        curator=new_user(app, "curator"), admin=new_user(app, "admin"),
                        secret=f"Secret{secrets.token_hex(6)}")
    client = _client(app)
    x, curator = Api(client, w.x.token), Api(client, w.curator.token)
    draft = x.post("/api/v1/pavilions", json={"name": f"{w.secret} booth", "summary": f"{w.secret} summary"})
    w.draft = draft.get_json()
    media = x.upload(w.draft["id"], samples.jpeg(320, 240), filename=f"{w.secret}.jpg").get_json()
    body = x.wait_media(media["id"])
    assert body["status"] == "ready", body
    w.media = media["id"]
    w.rendition = urlsplit(next(iter(body["renditions"].values()))).path.split("/", 4)
    assert x.put(f"/api/v1/pavilions/{w.draft['id']}/draft", json={
        "version": 1, "blocks": [{"kind": "text", "html": f"<p>{w.secret} text</p>"},
                                 {"kind": "image", "media": [w.media], "alt": f"{w.secret} alt"}]}).status_code == 200
    w.block = x.get(f"/api/v1/pavilions/{w.draft['id']}/draft").get_json()["blocks"][1]["id"]
    submitted = x.post("/api/v1/pavilions", json={"name": f"{w.secret} submitted"}).get_json()
    x.put(f"/api/v1/pavilions/{submitted['id']}/draft", json={"version": 1, "blocks": [
        {"kind": "text", "html": f"<p>{w.secret}</p>"}]})
    w.revision = x.post(f"/api/v1/pavilions/{submitted['id']}/submit").get_json()["id"]
    upload = x.post("/api/v1/uploads", json={"pavilion_id": w.draft["id"], "filename": f"{w.secret}.mp4",
                                             "size": 1000, "kind": "video"})
    assert upload.status_code == 201, upload.get_json()
    w.upload = upload.get_json()["id"]
    w.contest = make_contest(lambda _u: curator, None)["id"]
    attempt = x.post(f"/api/v1/contests/{w.contest}/attempts")
    assert attempt.status_code == 201, attempt.get_json()
    w.attempt = attempt.get_json()["id"]
    work = curator.post("/api/v1/works", json={"title": f"{w.secret} work", "kind": "article", "scenario": "office",
                                               "topics": ["network_security"], "body": "<p>hidden</p>",
                                               "published": False})
    assert work.status_code == 201 and work.get_json()["published"] is False, work.get_json()
    w.work = work.get_json()["id"]
    day = curator.post("/api/v1/days", json={"slug": f"day-{secrets.token_hex(4)}", "name": "Day",
                                             "date": f"2{secrets.randbelow(900) + 100}-0{secrets.randbelow(9) + 1}-11"})
    assert day.status_code == 201, day.get_json()
    w.day = day.get_json()["slug"]
    return w


# Every id-taking route: the object of X it is tried with, or why it is public by design.
PRIVATE = {
    "admin.set_active": lambda w: {"user_id": w.x.id},
    "contests_api.api_answers": lambda w: {"attempt_id": w.attempt},
    "contests.attempt": lambda w: {"attempt_id": w.attempt},
    "contests.certificate": lambda w: {"attempt_id": w.attempt},
    "contests.results_csv": lambda w: {"contest_id": w.contest},
    "days.manage": lambda w: {"slug": w.day},
    "media_api.status": lambda w: {"media_id": w.media},
    "media.studio_status": lambda w: {"media_id": w.media},
    "media.serve": lambda w: {"media_id": w.rendition[2], "run_id": w.rendition[3], "name": w.rendition[4]},
    "pavilions_api.read_draft": lambda w: {"pavilion_id": w.draft["id"]},
    "pavilions_api.write_draft": lambda w: {"pavilion_id": w.draft["id"]},
    "pavilions_api.submit": lambda w: {"pavilion_id": w.draft["id"]},
    "pavilions_api.decide": lambda w: {"revision_id": w.revision},
    "pavilions_api.show_published": lambda w: {"slug": w.draft["slug"]},  # a draft: never public
    "stats_api.pavilion_figures": lambda w: {"pavilion_id": w.draft["id"]},
    "stats.pavilion_dashboard": lambda w: {"pavilion_id": w.draft["id"]},
    "tour.pavilion": lambda w: {"slug": w.draft["slug"]},  # a draft: never public
    "review.show": lambda w: {"revision_id": w.revision},
    "studio.edit": lambda w: {"pavilion_id": w.draft["id"]},
    "studio.attach": lambda w: {"pavilion_id": w.draft["id"], "block_id": w.block},
    "studio.upload": lambda w: {"pavilion_id": w.draft["id"]},
    "studio.preview": lambda w: {"pavilion_id": w.draft["id"]},
    "studio.live_preview": lambda w: {"pavilion_id": w.draft["id"]},
    "studio.submit": lambda w: {"pavilion_id": w.draft["id"]},
    "uploads.page": lambda w: {"pavilion_id": w.draft["id"]},
    "uploads.web_start": lambda w: {"pavilion_id": w.draft["id"]},
    "uploads.web_whole": lambda w: {"pavilion_id": w.draft["id"]},
    "uploads.web_show": lambda w: {"pavilion_id": w.draft["id"], "upload_id": w.upload},
    "uploads.web_abort": lambda w: {"pavilion_id": w.draft["id"], "upload_id": w.upload},
    "uploads.web_complete": lambda w: {"pavilion_id": w.draft["id"], "upload_id": w.upload},
    "uploads_api.show": lambda w: {"upload_id": w.upload},
    "uploads_api.abort": lambda w: {"upload_id": w.upload},
    "uploads_api.complete": lambda w: {"upload_id": w.upload},
    "works.work": lambda w: {"work_id": w.work},  # unpublished: curators' only
}
PUBLIC = {
    "contests_api.api_start": "anyone signed in starts their own attempt on an open contest",
    "contests_api.api_leaderboard": "a contest's leaderboard is public",
    "contests.show": "a contest's page is public",
    "contests.leaderboard": "a contest's leaderboard is public",
    "contests.start": "anyone signed in starts their own attempt on an open contest",
    "days.day": "themed days are public",
    "i18n.set_language": "the argument is a language code, not an object",
    "static": "the site's own static files",
}


def _id_rules(app):
    return [r for r in app.url_map.iter_rules() if r.arguments]


def test_every_id_taking_route_is_classified(app):
    endpoints = {r.endpoint for r in _id_rules(app)}
    unknown = endpoints - set(PRIVATE) - set(PUBLIC)
    assert not unknown, f"classify these id-taking routes in PRIVATE (with X's object) or PUBLIC (why): {unknown}"
    assert not (set(PRIVATE) | set(PUBLIC)) - endpoints, "routes listed here no longer exist"


def _attempt(client, method, url, token=None, csrf=None):
    """Send METHOD to URL with a body that would change X's object, were the request let through."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if csrf:
        headers["X-CSRFToken"] = csrf
    if url.startswith("/api/") or method in ("PUT", "DELETE") or url.endswith(("/uploads", "/complete")) \
            or "/blocks/" in url:
        body = {"name": "pwned", "version": 2, "decision": "approve", "answers": [], "parts": [], "media_id": "x",
                "pavilion_id": "x", "filename": "a.jpg", "size": 10}
        return client.open(url, method=method, json=body, headers=headers)
    data = {"name": "pwned", "active": "0", "decision": "approve", "reason": "r", "op": "save", "block_count": "0",
            "version": "2", "slug": "pwned", "date": "2101-01-01"}
    if csrf:
        data["csrf_token"] = csrf
    if url.endswith(("/media", "/uploads/whole")):
        data["file"] = (io.BytesIO(samples.jpeg(64, 48)), "pwn.jpg")
    return client.open(url, method=method, data=data, headers=headers)


def _refused(answer, where, secret):
    text = answer.get_data(as_text=True)
    answer.close()
    if answer.status_code in (301, 302, 303):
        assert urlsplit(answer.headers["Location"]).path == "/login", (where, answer.headers["Location"])
    else:
        assert 400 <= answer.status_code < 500, (where, answer.status_code, text[:300])
    assert secret not in text, (where, "the answer holds X's data")
    return answer.status_code


def _state(app, w):
    from expo.extensions import db
    from expo.models import User
    from media.models import Media, Upload
    from pavilions.models import Pavilion, Revision
    from pavilions.programme.models_contests import Attempt

    with app.app_context():
        pav = db.session.get(Pavilion, w.draft["id"])
        return (pav.name, pav.version, str(pav.status), db.session.get(User, w.x.id).active,
                str(db.session.get(Upload, w.upload).state), str(db.session.get(Revision, w.revision).state),
                db.session.get(Attempt, w.attempt).submitted_at, db.session.get(Media, w.media).pavilion_id)


def test_no_route_gives_anyone_but_x_what_x_owns(app, world):
    w = world
    before = _state(app, w)
    people = {"exhibitor Y": (w.y, _client(app, w.y)), "visitor": (w.visitor, _client(app, w.visitor)),
              "anonymous": (None, _client(app))}
    tried = 0
    for rule in _id_rules(app):
        if rule.endpoint not in PRIVATE:
            continue
        real = PRIVATE[rule.endpoint](w)
        bogus = {k: (v if k in ("name",) else "zz" + secrets.token_hex(6)) for k, v in real.items()}
        url, fake = rule.build(real, append_unknown=False)[1], rule.build(bogus, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for who, (user, client) in people.items():
                modes = {"session": (client, None, client.csrf)}
                if user is not None:  # the same person's API token, on a client with no session
                    modes["token"] = (_client(app), user.token, None)
                for mode, (c, token, csrf) in modes.items():
                    where = f"{who} by {mode}: {method} {rule.rule}"
                    status = _refused(_attempt(c, method, url, token, csrf), where, w.secret)
                    # X's real id and a made-up one answer alike: the answer confirms no id.
                    assert status == _attempt(c, method, fake, token, csrf).status_code, where
                    tried += 1
    assert tried > 150
    assert _state(app, w) == before


def test_ids_in_bodies_reach_nothing_of_x(app, world):
    w = world
    before = _state(app, w)
    y = Api(_client(app), w.y.token)
    mine = y.post("/api/v1/pavilions", json={"name": "Y booth"}).get_json()
    answers = [
        y.upload(w.draft["id"], samples.jpeg(64, 48)),  # into X's pavilion
        y.post("/api/v1/uploads", json={"pavilion_id": w.draft["id"], "filename": "a.mp4", "size": 100}),
        y.put(f"/api/v1/pavilions/{mine['id']}/draft", json={"version": 1, "blocks": [
            {"kind": "image", "media": [w.media], "alt": "stolen"}]}),  # X's media in Y's draft
        y.post(f"/api/v1/reviews/{w.revision}", json={"decision": "approve"}),
    ]
    for answer in answers:
        _refused(answer, answer.request.path, w.secret)
    y_client = _client(app, w.y)
    edit = y_client.get(f"/studio/pavilions/{mine['id']}")
    attached = y_client.post(f"/studio/pavilions/{mine['id']}/blocks/b_nothere1/media", json={"media_id": w.media},
                             headers={"X-CSRFToken": csrf_from(edit.get_data(as_text=True))})
    _refused(attached, "attach X's media to Y's block", w.secret)
    assert _state(app, w) == before


# CSRF on every form


def _csrf_cases(w):
    """Every web write route: (who may use it, its arguments, a body that would change something)."""
    pav = {"pavilion_id": w.draft["id"]}
    return {
        "auth.login": ("anonymous", {}, {"email": w.x.email, "password": w.x.password}),
        "auth.logout": ("x", {}, {}),
        "contests.register": ("anonymous", {}, {"email": f"n-{secrets.token_hex(4)}@test.expo",
                                                "password": PASSWORD, "display_name": "New"}),
        "admin.users": ("admin", {}, {"email": f"a-{secrets.token_hex(4)}@test.expo", "password": PASSWORD,
                                      "role": "admin"}),
        "admin.set_active": ("admin", {"user_id": w.x.id}, {"active": "0"}),
        "studio.index": ("x", {}, {"name": "Forged booth"}),
        "studio.edit": ("x", pav, {"name": "Forged", "version": "{version}", "block_count": "0", "op": "save"}),
        "studio.attach": ("x", {**pav, "block_id": w.block}, {"media_id": w.media}),
        "studio.upload": ("x", pav, {"kind": "image", "file": "jpeg"}),
        "studio.live_preview": ("x", pav, {"name": "Forged"}),
        "studio.submit": ("x", pav, {}),
        "uploads.web_start": ("x", pav, {"json": {"filename": "a.mp4", "size": 1000, "kind": "video"}}),
        "uploads.web_whole": ("x", pav, {"file": "jpeg"}),
        "uploads.web_complete": ("x", {**pav, "upload_id": w.upload}, {"json": {"parts": []}}),
        "uploads.web_abort": ("x", {**pav, "upload_id": w.upload}, {}),
        "review.show": ("curator", {"revision_id": w.revision}, {"decision": "approve"}),
        "review.embed_hosts": ("curator", {}, {"host": "forged.example.com"}),
        "review.featured": ("curator", {}, {"pavilion": w.draft["id"], "featured": "1"}),
        "contests.start": ("y", {"contest_id": w.contest}, {}),
        "contests.attempt": ("x", {"attempt_id": w.attempt}, {}),
        "contests.manage": ("curator", {}, {"op": "question", "new_bank": "Forged bank", "kind": "truefalse",
                                            "text": "Forged?", "correct": "A", "option_a": "yes", "option_b": "no"}),
        "days.manage": ("curator", {}, {"slug": f"forged-{secrets.token_hex(3)}", "name": "Forged",
                                        "date": "2102-02-02"}),
        "live.review": ("curator", {}, {"title": "Forged", "hls_url": "https://live.example-cdn.cn/a.m3u8",
                                        "starts_at": "2103-01-01T10:00", "ends_at": "2103-01-01T11:00"}),
        "works.manage": ("curator", {}, {"title": "Forged", "kind": "article", "scenario": "office",
                                         "body": "<p>f</p>", "published": "1"}),
        "works.web_upload": ("curator", {}, {"file": "jpeg"}),
    }


def _forged(client, method, url, body, token):
    body = dict(body)
    if "json" in body:
        return client.open(url, method=method, json=body["json"], headers={"X-CSRFToken": token} if token else {})
    if body.get("file"):
        body["file"] = (io.BytesIO(samples.jpeg(64, 48)), "forged.jpg")
    if token:
        body["csrf_token"] = token
    return client.open(url, method=method, data=body)


def _is_csrf_refusal(answer):
    if answer.status_code != 400:
        return False
    if answer.is_json:
        return answer.get_json()["error"]["code"] == "csrf_failed"
    return "another site" in answer.get_data(as_text=True)


def test_every_form_refuses_a_missing_or_forged_csrf_token(app, world):
    w = world
    cases = _csrf_cases(w)
    rules = [r for r in app.url_map.iter_rules() if r.methods & WRITES and not r.rule.startswith("/api/")]
    missing = {r.endpoint for r in rules} - set(cases)
    assert not missing, f"new form routes: add them to _csrf_cases with a body that would change state: {missing}"
    clients = {who: _client(app, getattr(w, who, None)) for who in ("x", "y", "curator", "admin", "anonymous")}
    other_session = _client(app, w.y).csrf  # a real token, from the attacker's own session
    version = str(_state(app, w)[1])
    for rule in rules:
        who, args, body = cases[rule.endpoint]
        body = {k: (version if v == "{version}" else v) for k, v in body.items()}
        url = rule.build({**args, **({"slug": w.day} if "slug" in rule.arguments else {})}, append_unknown=False)[1]
        client, before = clients[who], fingerprint(app)
        for method in sorted(rule.methods & WRITES):
            for label, token in (("no token", None), ("a made-up token", "forged-" + secrets.token_hex(20)),
                                 ("another session's token", other_session)):
                answer = _forged(client, method, url, body, token)
                where = f"{method} {rule.rule} with {label}"
                assert _is_csrf_refusal(answer), (where, answer.status_code, answer.get_data(as_text=True)[:300])
                # Signed in as before: a forged logout does not sign out, a forged login does not sign in.
                assert (client.get("/studio/").status_code != 302) == (who != "anonymous"), where
        assert fingerprint(app) == before, f"a forged {rule.rule} changed the database"


# The API takes bearer tokens only: a cookie session never writes


API_OPEN = {
    "auth_api.create_token": "the sign-in of the API: it needs the password, not a session",
    "contests_api.api_register": "anyone may register; a cookie adds nothing",
    "live_api.heartbeat": "anyone's player counts itself as a viewer",
    "stats_api.play": "anyone's player counts a play of a published medium",
}


def test_the_api_refuses_cookie_sessions_for_every_write(app, world):
    w = world
    rules = [r for r in app.url_map.iter_rules() if r.methods & WRITES and r.rule.startswith("/api/")]
    values = {"pavilion_id": w.draft["id"], "upload_id": w.upload, "revision_id": w.revision,
              "contest_id": w.contest, "attempt_id": w.attempt}
    sessions = {role: _client(app, getattr(w, role)) for role in ("x", "curator", "visitor")}
    checked = 0
    for rule in rules:
        if rule.endpoint in API_OPEN:
            continue
        url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods & WRITES):
            for role, client in sessions.items():
                before = fingerprint(app)
                body = {"name": "Cookie booth", "version": 2, "decision": "approve", "answers": [], "parts": [],
                        "pavilion_id": w.draft["id"], "filename": "a.mp4", "size": 100, "title": "Cookie",
                        "slug": f"cookie-{secrets.token_hex(3)}", "date": "2104-04-04"}
                answer = client.open(url, method=method, json=body, headers={"X-CSRFToken": client.csrf})
                where = f"{role}'s session: {method} {rule.rule}"
                assert answer.status_code == 401, (where, answer.status_code, answer.get_data(as_text=True)[:200])
                assert answer.get_json()["error"]["code"] == "unauthorized", where
                assert fingerprint(app) == before, where
                checked += 1
    assert checked > 30


# Mass assignment


FORGED_FIELDS = {"role": "admin", "owner_id": None, "id": "chosen-by-me", "status": "published", "published": True,
                 "featured": True, "featured_at": "2020-01-01T00:00:00", "published_at": "2020-01-01T00:00:00",
                 "live_revision_id": "x", "created_by": None, "submitted_by": None, "active": False,
                 "session_epoch": 9, "user_id": None}


def _pavilion_row(app, pavilion_id):
    from expo.extensions import db
    from pavilions.models import Pavilion

    with app.app_context():
        pav = db.session.get(Pavilion, pavilion_id)
        return {"owner_id": pav.owner_id, "status": str(pav.status), "featured_at": pav.featured_at,
                "published_at": pav.published_at, "live_revision_id": pav.live_revision_id, "version": pav.version}


def test_json_bodies_cannot_set_owner_status_role_or_ids(app, world):
    w = world
    forged = {**FORGED_FIELDS, "owner_id": w.y.id, "created_by": w.y.id, "submitted_by": w.y.id, "user_id": w.y.id}
    x = Api(_client(app), w.x.token)
    created = x.post("/api/v1/pavilions", json={**forged, "name": "Assigned booth", "version": 99})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["id"] != "chosen-by-me" and body["status"] == "draft"
    row = _pavilion_row(app, body["id"])
    assert row == {"owner_id": w.x.id, "status": "draft", "featured_at": None, "published_at": None,
                   "live_revision_id": None, "version": 1}
    saved = x.put(f"/api/v1/pavilions/{body['id']}/draft", json={**forged, "name": "Assigned", "version": 1})
    assert saved.status_code == 200, saved.get_json()
    assert _pavilion_row(app, body["id"]) == {**row, "version": 2}
    assert body["slug"] not in [i["slug"] for i in x.get("/api/v1/pavilions", query_string={"limit": 100})
                                .get_json()["items"]]
    assert x.get(f"/api/v1/pavilions/{body['slug']}").status_code == 404
    # A visitor registering cannot choose a role, an id or an inactive-but-privileged account.
    registered = _client(app).post("/api/v1/register", json={**forged, "email": f"m-{secrets.token_hex(4)}@test.expo",
                                                              "password": PASSWORD, "display_name": "Mallory"})
    assert registered.status_code == 201, registered.get_json()
    account = registered.get_json()
    assert account["role"] == "visitor" and account["id"] != "chosen-by-me"
    assert _client(app).post("/api/v1/pavilions", json={"name": "x"},
                             headers={"Authorization": f"Bearer {account['token']}"}).status_code == 403
    # A contest answer cannot carry its own score.
    v = Api(_client(app), w.visitor.token)
    started = v.post(f"/api/v1/contests/{w.contest}/attempts").get_json()
    scored = v.post(f"/api/v1/attempts/{started['id']}/answers", json={
        "answers": [], "score": 999, "max_score": 1, "results": [{"question": "q", "correct": True}],
        "user_id": w.y.id})
    assert scored.status_code == 200, scored.get_json()
    assert scored.get_json()["score"] == 0 and all(not r["correct"] for r in scored.get_json()["results"])


def test_forms_cannot_set_owner_status_or_featured(app, world):
    w = world
    x = _client(app, w.x)
    fields = {k: str(v) for k, v in {**FORGED_FIELDS, "owner_id": w.y.id}.items()}
    created = x.post("/studio/", data={**fields, "name": "Form booth", "csrf_token": x.csrf})
    assert created.status_code == 302
    pavilion_id = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    row = _pavilion_row(app, pavilion_id)
    assert row["owner_id"] == w.x.id and row["status"] == "draft" and row["featured_at"] is None
    saved = x.post(f"/studio/pavilions/{pavilion_id}", data={**fields, "name": "Form booth 2", "version": "1",
                                                             "block_count": "0", "op": "save", "csrf_token": x.csrf})
    assert saved.status_code == 302
    after = _pavilion_row(app, pavilion_id)
    assert after == {**row, "version": 2}
