"""Knowledge contests and visitor sign-up: the Programme contract rows, one attempt, deadlines, no answer leak,
scoring, the leaderboard, CSV import and export, the pages."""
import csv
import io
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest

from pavilions.programme import contests_services
from tests.conftest import Api, csrf_from, login

QUESTIONS = [
    {"kind": "single", "text": "Which number answers single?", "explanation": "EXPLAIN-SINGLE because.",
     "options": [{"text": "one", "correct": True}, {"text": "two", "correct": False},
                 {"text": "three", "correct": False}]},
    {"kind": "multiple", "text": "Which are even?", "explanation": "EXPLAIN-MULTIPLE because.",
     "options": [{"text": "four", "correct": True}, {"text": "six", "correct": True},
                 {"text": "seven", "correct": False}, {"text": "nine", "correct": False}]},
    {"kind": "truefalse", "text": "The sky is green.", "explanation": "EXPLAIN-TF because.",
     "options": [{"text": "True", "correct": False}, {"text": "False", "correct": True}]},
]
LIST_KEYS = {"id", "title", "opens_at", "closes_at", "time_limit_s", "questions"}


def _iso(delta):
    return (datetime.now(UTC) + delta).isoformat()


def make_contest(api, curator, questions=QUESTIONS, **extra):
    body = {"title": f"Quiz {secrets.token_hex(3)}", "opens_at": _iso(timedelta(minutes=-1)),
            "closes_at": _iso(timedelta(days=1)), "time_limit_s": 300, "questions": questions, **extra}
    answer = api(curator).post("/api/v1/contests", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def register(client, name=None):
    """Register a visitor from CLIENT's address; return a namespace-like dict with its token."""
    email = f"v-{secrets.token_hex(5)}@test.expo"
    answer = client.post("/api/v1/register", json={"email": email, "password": "correct-horse-battery",
                                                   "display_name": name or f"Visitor {secrets.token_hex(2)}"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def visitor_api(app, name=None):
    """A visitor with an API client of its own address (registration is limited per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.77.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    body = register(client, name)
    return Api(client, body["token"]), body


def truth(app, attempt):
    """Return {question id: (kind, {option text: id}, correct ids)} for ATTEMPT's questions, read from the db."""
    from expo.extensions import db
    from pavilions.programme.models_contests import Question

    with app.app_context():
        out = {}
        for q in attempt["questions"]:
            question = db.session.get(Question, q["id"])
            out[q["id"]] = (question.kind, {o["text"]: o["id"] for o in question.options}, question.correct_ids())
        return out


def perfect(app, attempt):
    return [{"question": qid, "options": sorted(right)} for qid, (_k, _o, right) in truth(app, attempt).items()]


@pytest.fixture
def clock(monkeypatch):
    """Replace the contests' clock: clock.at(datetime) moves it."""
    state = {"now": None}

    def now():
        return state["now"] or datetime.now(UTC)

    monkeypatch.setattr(contests_services, "now", now)
    return type("Clock", (), {"at": staticmethod(lambda moment: state.update(now=moment))})


# Registration


def test_register_creates_a_visitor_whose_token_works(app, client):
    body = register(client, "Li Lei")
    assert set(body) == {"id", "email", "display_name", "role", "token"}
    assert body["role"] == "visitor" and body["display_name"] == "Li Lei"
    minted = client.post("/api/v1/tokens", json={"email": body["email"], "password": "correct-horse-battery"})
    assert minted.status_code == 201
    for token in (body["token"], minted.get_json()["token"]):
        answer = client.post("/api/v1/contests/nope/attempts", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 404


@pytest.mark.parametrize("change, code", [
    ({"email": "not-an-email"}, "invalid_email"),
    ({"password": "short"}, "weak_password"),
    ({"display_name": ""}, "display_name_required"),
    ({"display_name": None}, "display_name_required"),
    ({"display_name": "x" * 41}, "display_name_too_long"),
    ({"password": 12345678}, "invalid_body"),
])
def test_register_refuses_bad_fields_with_422(client, change, code):
    body = {"email": f"v-{secrets.token_hex(4)}@test.expo", "password": "correct-horse-battery",
            "display_name": "Han Meimei", **change}
    answer = client.post("/api/v1/register", json=body)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code


def test_register_refuses_a_taken_email_without_echoing_it(client, make_user):
    taken = make_user("exhibitor")
    answer = client.post("/api/v1/register", json={"email": taken.email.upper(), "password": "another-password",
                                                   "display_name": "Someone"})
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "email_taken"
    assert taken.email not in answer.get_data(as_text=True).lower()


def test_register_is_rate_limited_per_address(client):
    codes = [client.post("/api/v1/register", json={"email": f"r-{i}-{secrets.token_hex(3)}@test.expo",
                                                   "password": "correct-horse-battery",
                                                   "display_name": f"R{i}"}).status_code for i in range(7)]
    assert codes[:5] == [201] * 5 and codes[5:] == [429, 429]


def test_register_page_signs_the_visitor_in(client):
    page = client.get("/register")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>" not in html and 'style="' not in html
    form = {"email": f"p-{secrets.token_hex(4)}@test.expo", "password": "correct-horse-battery",
            "display_name": "Page Person"}
    assert client.post("/register", data=form).status_code == 400  # no CSRF token
    answer = client.post("/register", data={**form, "csrf_token": csrf_from(html)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/contests"
    assert "Sign out" in client.get("/contests").get_data(as_text=True)
    again = client.post("/register", data={**form, "csrf_token": csrf_from(html)})
    assert again.status_code == 409 and "cannot be used to register" in again.get_data(as_text=True)


# Creating and listing contests


def test_contest_list_has_the_contract_shape_and_hides_future_contests(api, client, curator):
    drawn = make_contest(api, curator, draw=2)
    everything = make_contest(api, curator)
    future = make_contest(api, curator, opens_at=_iso(timedelta(days=2)), closes_at=_iso(timedelta(days=3)))
    listed = {c["id"]: c for c in client.get("/api/v1/contests").get_json()}
    assert all(set(c) == LIST_KEYS for c in listed.values())
    assert listed[drawn["id"]]["questions"] == 2 and listed[everything["id"]]["questions"] == 3
    assert listed[drawn["id"]]["time_limit_s"] == 300 and future["id"] not in listed


def test_only_curators_create_contests_and_bad_ones_are_explained(api, app, curator):
    anyone, _body = visitor_api(app)
    assert api().post("/api/v1/contests", json={}).status_code == 401
    assert anyone.post("/api/v1/contests", json={"title": "x"}).status_code == 403
    bad = [QUESTIONS[0], {**QUESTIONS[0], "options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}]}]
    answer = api(curator).post("/api/v1/contests", json={
        "title": "Bad", "opens_at": _iso(timedelta(0)), "closes_at": _iso(timedelta(days=1)), "time_limit_s": 60,
        "questions": bad})
    assert answer.status_code == 422 and "Question 2" in answer.get_json()["error"]["message"]
    window = api(curator).post("/api/v1/contests", json={
        "title": "Bad", "opens_at": _iso(timedelta(days=1)), "closes_at": _iso(timedelta(0)), "time_limit_s": 60,
        "questions": QUESTIONS})
    assert window.status_code == 422 and window.get_json()["error"]["code"] == "invalid_window"
    for draw in ([{"id": 1}], ["unknown"], 0, 4, "2"):
        answer = api(curator).post("/api/v1/contests", json={
            "title": "Bad", "opens_at": _iso(timedelta(0)), "closes_at": _iso(timedelta(days=1)), "time_limit_s": 60,
            "questions": QUESTIONS, "draw": draw})
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "invalid_draw", draw


def test_a_contest_can_reuse_a_bank_with_a_fixed_draw(api, app, curator):
    first = make_contest(api, curator)
    from expo.extensions import db
    from pavilions.programme.models_contests import QuestionBank

    with app.app_context():
        ids = [q.id for q in db.session.get(QuestionBank, first["bank_id"]).questions]
    second = make_contest(api, curator, questions=None, bank_id=first["bank_id"], draw=[ids[2], ids[0]])
    assert second["questions"] == 2 and second["bank_id"] == first["bank_id"]
    visitor, _body = visitor_api(app)
    started = visitor.post(f"/api/v1/contests/{second['id']}/attempts").get_json()
    assert [q["id"] for q in started["questions"]] == [ids[2], ids[0]]


# Attempts


def test_start_gives_the_contract_shape_and_one_attempt_only(api, app, curator):
    contest = make_contest(api, curator)
    visitor, _body = visitor_api(app)
    answer = visitor.post(f"/api/v1/contests/{contest['id']}/attempts")
    assert answer.status_code == 201
    body = answer.get_json()
    assert set(body) == {"id", "deadline", "questions"} and len(body["questions"]) == 3
    for question in body["questions"]:
        assert set(question) == {"id", "text", "kind", "options"}
        assert all(set(option) == {"id", "text"} for option in question["options"])
    deadline = datetime.fromisoformat(body["deadline"])
    assert timedelta(seconds=295) < deadline - datetime.now(UTC) <= timedelta(seconds=300)
    again = visitor.post(f"/api/v1/contests/{contest['id']}/attempts")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "attempt_taken"
    assert api().post(f"/api/v1/contests/{contest['id']}/attempts").status_code == 401
    assert api(curator).post(f"/api/v1/contests/{contest['id']}/attempts").status_code == 403


def test_closed_and_future_contests_refuse_to_start(api, app, curator, clock):
    contest = make_contest(api, curator, opens_at=_iso(timedelta(hours=1)), closes_at=_iso(timedelta(hours=2)))
    visitor, _body = visitor_api(app)
    early = visitor.post(f"/api/v1/contests/{contest['id']}/attempts")
    assert early.status_code == 409 and "opens at" in early.get_json()["error"]["message"]
    clock.at(datetime.now(UTC) + timedelta(hours=3))
    late = visitor.post(f"/api/v1/contests/{contest['id']}/attempts")
    assert late.status_code == 409 and "closed" in late.get_json()["error"]["message"]


def test_concurrent_starts_give_exactly_one_attempt(api, app, curator):
    contest = make_contest(api, curator)
    _visitor, body = visitor_api(app)
    codes, barrier = [], threading.Barrier(6)

    def start(index):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.88.0.{index + 1}"
        barrier.wait()
        codes.append(Api(client, body["token"]).post(f"/api/v1/contests/{contest['id']}/attempts").status_code)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201] + [409] * 5


def test_attempt_starts_are_rate_limited(api, app, curator, monkeypatch):
    from pavilions.programme import contests_views

    monkeypatch.setattr(contests_views, "START_LIMIT", 2)
    visitor, _body = visitor_api(app)
    codes = [visitor.post(f"/api/v1/contests/{make_contest(api, curator)['id']}/attempts").status_code
             for _ in range(3)]
    assert codes == [201, 201, 429]


# Scoring and submission


def test_scoring_of_single_multiple_and_truefalse(api, app, curator):
    contest = make_contest(api, curator)
    cases = {
        "all right": (lambda k, o, r: sorted(r), [True, True, True]),
        "all wrong": (lambda k, o, r: [o["two"]] if k == "single" else [o["seven"]] if k == "multiple"
                      else [o["True"]], [False, False, False]),
        "part of multiple": (lambda k, o, r: [o["four"]] if k == "multiple" else sorted(r), [True, False, True]),
        "extra in multiple": (lambda k, o, r: [o["four"], o["six"], o["nine"]] if k == "multiple" else [],
                              [False, False, False]),
    }
    for name, (choose, expected) in cases.items():
        visitor, _body = visitor_api(app)
        attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
        facts = truth(app, attempt)
        answers = [{"question": qid, "options": choose(*facts[qid])} for qid in facts]
        answer = visitor.post(f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": answers})
        assert answer.status_code == 200, (name, answer.get_json())
        body = answer.get_json()
        kinds = [facts[r["question"]][0] for r in body["results"]]
        by_kind = dict(zip(kinds, [r["correct"] for r in body["results"]], strict=True))
        assert [by_kind[k] for k in ("single", "multiple", "truefalse")] == expected, name
        assert set(body) == {"score", "max_score", "results"} and body["max_score"] == 3
        assert body["score"] == sum(expected)
        assert all(set(r) == {"question", "correct"} for r in body["results"])


def test_answers_are_taken_once_by_their_owner_only(api, app, curator):
    contest = make_contest(api, curator)
    visitor, _body = visitor_api(app)
    other, _other = visitor_api(app)
    attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    url, first_id = f"/api/v1/attempts/{attempt['id']}/answers", attempt["questions"][0]["id"]
    assert other.post(url, json={"answers": []}).status_code == 404
    assert api(curator).post(url, json={"answers": []}).status_code == 404
    for bad in ([{"question": "nope", "options": []}], [{"question": ["x"]}], "all", [{"question": first_id,
                "options": [{"id": 1}]}], [{"question": first_id, "options": []}, {"question": first_id}]):
        assert visitor.post(url, json={"answers": bad}).status_code == 422, bad
    first = visitor.post(url, json={"answers": perfect(app, attempt)})
    assert first.status_code == 200 and first.get_json()["score"] == 3
    second = visitor.post(url, json={"answers": []})
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "already_submitted"


def test_deadline_is_kept_by_the_server_with_a_short_grace(api, app, curator, clock):
    contest = make_contest(api, curator, time_limit_s=60)
    start = datetime.now(UTC)
    clock.at(start)
    on_time, _a = visitor_api(app)
    late, _b = visitor_api(app)
    first = on_time.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    second = late.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    clock.at(start + timedelta(seconds=60 + contests_services.GRACE_S))
    answer = on_time.post(f"/api/v1/attempts/{first['id']}/answers", json={"answers": perfect(app, first)})
    assert answer.status_code == 200 and answer.get_json()["score"] == 3
    clock.at(start + timedelta(seconds=60 + contests_services.GRACE_S + 1))
    refused = late.post(f"/api/v1/attempts/{second['id']}/answers", json={"answers": perfect(app, second)})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "deadline_passed"
    assert "ran out" in refused.get_json()["error"]["message"]


# No answer leak


def _flipped(questions):
    """The same questions with other right answers."""
    flipped = []
    for q in questions:
        options = [dict(o) for o in q["options"]]
        for o in options:
            o["correct"] = False
        options[-1]["correct"] = True
        if q["kind"] == "multiple":
            options[-2]["correct"] = True
        flipped.append({**q, "options": options, "explanation": "OTHER-EXPLANATION."})
    return flipped


def _neutral(body, ids):
    """Return BODY with every id replaced by a placeholder and options ordered by text."""
    text = body
    for identifier in ids:
        text = text.replace(identifier, "ID")
    return text


def _attempt_bodies(app, api, curator, questions):
    """Take a contest over QUESTIONS on the web and the API; return every body seen before submitting."""
    contest = make_contest(api, curator, questions=questions, title="Same title")
    visitor, body = visitor_api(app)
    client = visitor.client
    seen = [client.get("/api/v1/contests").get_data(as_text=True)]
    started = visitor.post(f"/api/v1/contests/{contest['id']}/attempts")
    seen.append(started.get_data(as_text=True))
    login(client, type("U", (), {"email": body["email"], "password": "correct-horse-battery"}))
    for url in ("/contests", f"/contests/{contest['id']}", f"/attempts/{started.get_json()['id']}",
                f"/contests/{contest['id']}/leaderboard"):
        page = client.get(url)
        assert page.status_code == 200, url
        seen.append(page.get_data(as_text=True))
    return contest, started.get_json(), seen


def test_no_response_before_submission_hints_at_the_answers(api, app, curator):
    contest_a, attempt_a, seen_a = _attempt_bodies(app, api, curator, QUESTIONS)
    contest_b, attempt_b, seen_b = _attempt_bodies(app, api, curator, _flipped(QUESTIONS))
    for body in seen_a + seen_b:
        assert "EXPLAIN" not in body and "OTHER-EXPLANATION" not in body
        assert '"correct"' not in body and "right answer" not in body
    for attempt in (attempt_a, attempt_b):
        first_right = [truth(app, attempt)[q["id"]][2] for q in attempt["questions"]]
        assert all(len(o["id"]) >= 8 for q in attempt["questions"] for o in q["options"])
        # Option ids are random: none is the position, the text or the question's id with a suffix.
        assert not any(o["id"].isdigit() or o["text"] in o["id"] or q["id"] in o["id"]
                       for q in attempt["questions"] for o in q["options"])
        assert first_right  # every question has a right answer in the db
    # The same questions with other right answers give the same responses but for random ids and the order of
    # shuffled options, which comes from the attempt's id, not from the answers.
    def normal(attempt):
        return sorted((q["kind"], q["text"], sorted(o["text"] for o in q["options"])) for q in attempt["questions"])

    assert normal(attempt_a) == normal(attempt_b)
    ids_a = _ids(attempt_a, contest_a)
    ids_b = _ids(attempt_b, contest_b)
    for page_a, page_b in zip(seen_a[3:], seen_b[3:], strict=True):  # the pages of one contest
        assert _lines(_neutral(page_a, ids_a)) == _lines(_neutral(page_b, ids_b))


def _ids(attempt, contest):
    return [attempt["id"], contest["id"], attempt["deadline"]] + [q["id"] for q in attempt["questions"]] + \
        [o["id"] for q in attempt["questions"] for o in q["options"]]


def _lines(html):
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", html)
    html = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "TIME", html)
    return sorted(line.strip() for line in html.splitlines() if "Quiz" not in line)


def test_correct_options_are_not_always_shown_first(api, app, curator):
    contest = make_contest(api, curator)
    positions = set()
    for _ in range(8):
        visitor, _body = visitor_api(app)
        attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
        facts = truth(app, attempt)
        for q in attempt["questions"]:
            if q["kind"] == "single":
                positions.add(next(i for i, o in enumerate(q["options"]) if o["id"] in facts[q["id"]][2]))
    assert len(positions) > 1


# Leaderboard


def test_leaderboard_ranks_by_score_then_time_with_ties(api, app, curator, clock):
    contest = make_contest(api, curator)
    start = datetime.now(UTC)
    plan = [("Slow perfect", 3, 100), ("Fast perfect", 3, 20), ("Tie A", 2, 30), ("Tie B", 2, 30), ("Last", 0, 5)]
    for name, score, seconds in plan:
        clock.at(start)
        visitor, _body = visitor_api(app, name)
        attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
        answers = perfect(app, attempt)
        for entry in answers[score:]:
            entry["options"] = []
        clock.at(start + timedelta(seconds=seconds))
        assert visitor.post(f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": answers}).status_code == 200
    board = api().get(f"/api/v1/contests/{contest['id']}/leaderboard").get_json()
    assert board == [
        {"rank": 1, "display_name": "Fast perfect", "score": 3, "seconds": 20},
        {"rank": 2, "display_name": "Slow perfect", "score": 3, "seconds": 100},
        {"rank": 3, "display_name": board[2]["display_name"], "score": 2, "seconds": 30},
        {"rank": 3, "display_name": board[3]["display_name"], "score": 2, "seconds": 30},
        {"rank": 5, "display_name": "Last", "score": 0, "seconds": 5},
    ]
    assert {board[2]["display_name"], board[3]["display_name"]} == {"Tie A", "Tie B"}
    assert api().get("/api/v1/contests/unknown/leaderboard").status_code == 404


# CSV import and export, curator pages


GOOD_CSV = """kind,text,option_a,option_b,option_c,option_d,option_e,option_f,correct,explanation
single,Pick B,x,y,z,,,,B,Because B.
multiple,Pick A and C,p,q,r,s,,,A;C,Both.
truefalse,Water is wet,,,,,,,true,It is.
"""
BAD_CSV = """kind,text,option_a,option_b,option_c,option_d,option_e,option_f,correct,explanation
single,Fine,x,y,,,,,A,ok
essay,Wrong kind,x,y,,,,,A,
single,Letter without option,x,y,,,,,D,
truefalse,Neither,,,,,,,maybe,
single,Two right,x,y,,,,,A;B,
"""


def _manage(client, curator):
    login(client, curator)
    page = client.get("/review/contests")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def _upload(client, token, text, title="Imported bank"):
    return client.post("/review/contests", data={"csrf_token": token, "op": "import", "title": title,
                                                 "file": (io.BytesIO(text.encode()), "bank.csv")},
                       content_type="multipart/form-data")


def test_csv_import_creates_a_bank_and_reports_bad_rows(app, client, curator):
    token = _manage(client, curator)
    bad = _upload(client, token, BAD_CSV)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for row in ("Row 3", "Row 4", "Row 5", "Row 6"):
        assert row in html
    assert "Row 2" not in html
    missing = _upload(client, token, "kind,text\nsingle,x\n")
    assert missing.status_code == 422 and "correct" in missing.get_data(as_text=True)
    title = f"Bank {secrets.token_hex(3)}"
    assert _upload(client, token, GOOD_CSV, title).status_code == 302
    from sqlalchemy import select

    from expo.extensions import db
    from pavilions.programme.models_contests import QuestionBank

    with app.app_context():
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.title == title))
        got = [(q.kind, [o["text"] for o in q.options if o["correct"]]) for q in bank.questions]
        bank_id = bank.id
    assert got == [("single", ["y"]), ("multiple", ["p", "r"]), ("truefalse", ["正确 / True"])]
    created = client.post("/review/contests", data={
        "csrf_token": token, "op": "contest", "bank_id": bank_id, "title": "From the form", "draw": "2",
        "opens_at": "2020-01-01T09:00", "closes_at": "2099-01-01T09:00", "time_limit_s": "120", "pass_score": ""})
    assert created.status_code == 302
    listed = {c["title"]: c for c in client.get("/api/v1/contests").get_json()}
    assert listed["From the form"]["questions"] == 2 and listed["From the form"]["time_limit_s"] == 120
    assert listed["From the form"]["opens_at"] == "2020-01-01T01:00:00+00:00"  # expo time is Asia/Shanghai


def test_results_csv_guards_against_formulas_and_is_for_curators(api, app, client, curator):
    contest = make_contest(api, curator)
    visitor, body = visitor_api(app, "=HYPERLINK(\"http://x\")")
    attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    visitor.post(f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": perfect(app, attempt)})
    url = f"/review/contests/{contest['id']}/results.csv"
    login(visitor.client, type("U", (), {"email": body["email"], "password": "correct-horse-battery"}))
    assert visitor.client.get(url).status_code == 403
    _manage(client, curator)
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0][:4] == ["rank", "display_name", "email", "score"]
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and rows[1][2] == body["email"] and rows[1][3] == "3"


def test_csv_safe_prefixes_every_formula_starter():
    from pavilions.programme.contests_banks import csv_safe

    for cell in ("=1+1", "+1", "-1", "@SUM(A1)"):
        assert csv_safe(cell) == "'" + cell
    assert csv_safe("Li Lei") == "Li Lei" and csv_safe(3) == "3"


# The visitor's pages


def test_visitor_takes_a_contest_on_the_web(api, app, curator):
    contest = make_contest(api, curator, pass_score=2)
    visitor, body = visitor_api(app, "Web Winner")
    client = visitor.client
    login(client, type("U", (), {"email": body["email"], "password": "correct-horse-battery"}))
    page = client.get(f"/contests/{contest['id']}").get_data(as_text=True)
    started = client.post(f"/contests/{contest['id']}/start", data={"csrf_token": csrf_from(page)})
    assert started.status_code == 302
    attempt_url = started.headers["Location"]
    html = client.get(attempt_url).get_data(as_text=True)
    assert html.count("<fieldset") == 3 and html.count("<legend>") == 3 and "js/contest.js" in html
    assert "<script>" not in html and 'style="' not in html and "programme-contests.css" in html
    facts = truth(app, {"questions": [{"id": q} for q in re.findall(r'name="q-([^"]+)"', html)]})
    form = {"csrf_token": csrf_from(html)}
    for qid, (_kind, _options, right) in facts.items():
        form[f"q-{qid}"] = sorted(right)
    assert client.post(attempt_url, data=form).status_code == 302
    result = client.get(attempt_url).get_data(as_text=True)
    assert "EXPLAIN-SINGLE" in result and "3 of 3 correct" in result
    certificate = client.get(f"{attempt_url}/certificate").get_data(as_text=True)
    assert "Web Winner" in certificate and contest["title"] in certificate
    again = client.post(attempt_url, data=form)
    assert again.status_code == 200  # the result again: nothing is scored twice
    board = client.get(f"/contests/{contest['id']}/leaderboard").get_data(as_text=True)
    assert "Web Winner" in board


def test_no_certificate_without_a_passing_score(api, app, curator):
    contest = make_contest(api, curator, pass_score=3)
    visitor, body = visitor_api(app)
    attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    visitor.post(f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": []})
    login(visitor.client, type("U", (), {"email": body["email"], "password": "correct-horse-battery"}))
    assert visitor.client.get(f"/attempts/{attempt['id']}/certificate").status_code == 404
    other, other_body = visitor_api(app)
    login(other.client, type("U", (), {"email": other_body["email"], "password": "correct-horse-battery"}))
    assert other.client.get(f"/attempts/{attempt['id']}").status_code == 404


def test_demo_seed_makes_six_open_contests_of_five_questions(app, make_user):
    from expo.extensions import db
    from expo.models import User
    from pavilions.programme.contests_seed import seed_demo

    curator = make_user("curator")
    with app.app_context():
        actor = db.session.get(User, curator.id)
        ids = seed_demo(actor)
        db.session.commit()
        assert seed_demo(actor) == ids and len(ids) == 6
    listed = {c["id"]: c for c in app.test_client().get("/api/v1/contests").get_json()}
    assert all(listed[i]["questions"] == 5 and listed[i]["time_limit_s"] == 300 for i in ids)


def test_attempt_page_after_the_deadline_shows_no_questions(api, app, curator, clock):
    contest = make_contest(api, curator, time_limit_s=60)
    start = datetime.now(UTC)
    clock.at(start)
    visitor, body = visitor_api(app)
    attempt = visitor.post(f"/api/v1/contests/{contest['id']}/attempts").get_json()
    login(visitor.client, type("U", (), {"email": body["email"], "password": "correct-horse-battery"}))
    html = visitor.client.get(f"/attempts/{attempt['id']}").get_data(as_text=True)
    clock.at(start + timedelta(seconds=120))
    late = visitor.client.post(f"/attempts/{attempt['id']}", data={"csrf_token": csrf_from(html)})
    page = late.get_data(as_text=True)
    assert late.status_code == 409 and "ran out" in page and "<fieldset" not in page


def test_curators_write_questions_one_by_one(app, client, curator):
    from tests.conftest import csrf_from, login

    login(client, curator)
    page = client.get("/review/contests").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "op": "question", "bank_id": "", "new_bank": "Hand-written bank",
            "kind": "multiple", "text": "Which are strong habits?", "option_a": "Reuse one password",
            "option_b": "Turn on two-factor sign-in", "option_c": "Update apps", "correct": "B;C",
            "explanation": "Reused passwords leak together."}
    answer = client.post("/review/contests", data=form, follow_redirects=True)
    assert "Added the question to “Hand-written bank”" in answer.get_data(as_text=True)
    with app.app_context():
        from expo.extensions import db
        from pavilions.programme.models_contests import QuestionBank

        bank = db.session.scalar(db.select(QuestionBank).where(QuestionBank.title == "Hand-written bank"))
        assert [(q.kind, [o["correct"] for o in q.options]) for q in bank.questions] == \
            [("multiple", [False, True, True])]
        bank_id = bank.id
    form.update(bank_id=bank_id, new_bank="", kind="truefalse", text="HTTPS hides the site you visit.",
                correct="false")
    client.post("/review/contests", data=form)
    form.update(kind="single", text="Bad one", correct="D")  # D has no text
    refused = client.post("/review/contests", data=form, follow_redirects=True).get_data(as_text=True)
    assert "The question was not added" in refused and "names D" in refused
    with app.app_context():
        from expo.extensions import db
        from pavilions.programme.models_contests import QuestionBank

        assert len(db.session.get(QuestionBank, bank_id).questions) == 2
