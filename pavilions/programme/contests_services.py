"""Contest rules: create a contest, start the one attempt, score it on the server, rank the results.

The server is the clock: `now()` is the only time source here (tests replace it), an attempt's deadline is
fixed when it starts, and answers may arrive up to GRACE_S seconds after it for network latency.
"""
import csv
import io
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from expo.errors import Conflict, Forbidden, Invalid, NotFound
from expo.extensions import db, utcnow
from expo.models import User
from expo.permissions import allowed
from pavilions.programme import contests_banks
from pavilions.programme.models_contests import Attempt, Contest, Question, QuestionBank

GRACE_S = 5
MAX_TIME_LIMIT_S = 4 * 3600


def now():
    """Return the server's current time (UTC)."""
    return utcnow()


def aware(moment):
    """Return MOMENT with its UTC zone: SQLite gives timestamps back without one."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def iso(moment):
    """Return MOMENT as ISO 8601 text in UTC, the same on every database."""
    return aware(moment).astimezone(UTC).isoformat()


def require_manager(actor):
    """Raise Forbidden unless ACTOR may manage contests (curators and admins)."""
    if not allowed(actor, "contest.manage"):
        raise Forbidden("Only curators manage contests.", code="forbidden")


def _moment(value, name):
    if not isinstance(value, str):
        raise Invalid(f"'{name}' must be an ISO 8601 time, e.g. 2026-12-01T09:00:00+08:00.", code="invalid_time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{name}' is not an ISO 8601 time, e.g. 2026-12-01T09:00:00+08:00.",
                      code="invalid_time") from None
    # A time without a zone (a form's datetime-local field) is the expo's local time.
    # Stored in UTC: SQLite keeps the wall time and drops the zone.
    return (moment if moment.tzinfo else moment.replace(tzinfo=expo_zone())).astimezone(UTC)


def expo_zone():
    return ZoneInfo(current_app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))


def local(moment):
    """Return MOMENT as text in the expo's time zone, to the minute."""
    return aware(moment).astimezone(expo_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def _int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"'{name}' must be a whole number from {low} to {high}.", code=f"invalid_{name}")
    return value


def _title(value, name, required):
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 200:
        raise Invalid(f"'{name}' must be a text of {1 if required else 0} to 200 characters.", code="invalid_title")
    return value.strip()


def create_contest(actor, data):
    """Create a contest from DATA (the API's shape) over a bank given by id or as inline questions."""
    require_manager(actor)
    if not isinstance(data, dict):
        raise Invalid("Send the contest as a JSON object.", code="invalid_body")
    title = _title(data.get("title"), "title", True)
    opens_at, closes_at = _moment(data.get("opens_at"), "opens_at"), _moment(data.get("closes_at"), "closes_at")
    if closes_at <= opens_at:
        raise Invalid("'closes_at' must be after 'opens_at'.", code="invalid_window")
    bank = _bank(actor, data, title)
    fixed, count = _draw(bank, data.get("draw"))
    total = count or len(fixed)
    pass_score = data.get("pass_score")
    pass_score = math.ceil(total * 0.6) if pass_score is None else pass_score
    contest = Contest(title=title, title_en=_title(data.get("title_en"), "title_en", False), bank=bank,
                      fixed_question_ids=fixed, draw_count=count, opens_at=opens_at, closes_at=closes_at,
                      time_limit_s=_int(data.get("time_limit_s"), "time_limit_s", 10, MAX_TIME_LIMIT_S),
                      pass_score=_int(pass_score, "pass_score", 0, total), created_by=actor.id,
                      pavilion_id=_pavilion(data.get("pavilion")))
    db.session.add(contest)
    db.session.flush()
    return contest


def _pavilion(value):
    """Return the id of the published pavilion VALUE names (slug or id), or None when VALUE is empty."""
    if value in (None, ""):
        return None
    from pavilions.models import Pavilion

    found = db.session.scalar(select(Pavilion).where(or_(Pavilion.id == str(value), Pavilion.slug == str(value))))
    if found is None or not found.live_revision_id:
        raise Invalid("'pavilion' must name a published pavilion (its slug or id).", code="unknown_pavilion")
    return found.id


def _bank(actor, data, title):
    if data.get("bank_id") is not None:
        bank = db.session.get(QuestionBank, data["bank_id"]) if isinstance(data["bank_id"], str) else None
        if bank is None:
            raise Invalid("No question bank has this 'bank_id'.", code="unknown_bank")
        return bank
    if data.get("questions") is None:
        raise Invalid("Give the contest a 'bank_id' or a list of 'questions' with their correct options.",
                      code="bank_required")
    return contests_banks.create_bank(actor, title, data["questions"])


def _draw(bank, draw):
    """Return (fixed question ids, random count) for DRAW: omitted (all), a number N, or a list of ids."""
    ids = [q.id for q in bank.questions]
    if draw is None:
        return ids, 0
    if isinstance(draw, list):
        if not draw or not all(isinstance(i, str) for i in draw) or len(set(draw)) != len(draw) \
                or not set(draw) <= set(ids):
            raise Invalid("'draw' must list distinct question ids of the bank.", code="invalid_draw")
        return draw, 0
    return [], _int(draw, "draw", 1, len(ids))


def listed():
    """Return the contests that are open or over, newest first."""
    return db.session.scalars(select(Contest).where(Contest.opens_at <= now())
                              .order_by(Contest.opens_at.desc(), Contest.id)).all()


def all_contests():
    """Return every contest, newest first, for the curators."""
    return db.session.scalars(select(Contest).order_by(Contest.created_at.desc())).all()


def banks():
    """Return every question bank, newest first, for the curators."""
    return db.session.scalars(select(QuestionBank).order_by(QuestionBank.created_at.desc())).all()


def get_contest(contest_id):
    contest = db.session.get(Contest, contest_id) if isinstance(contest_id, str) else None
    if contest is None:
        raise NotFound("No contest has this id.", code="contest_not_found")
    return contest


def window_problem(contest, moment=None):
    """Return a sentence telling why CONTEST cannot be started now, or None when it is open."""
    moment = moment or now()
    if moment < aware(contest.opens_at):
        return f"This contest opens at {local(contest.opens_at)} ({expo_zone().key}); come back then."
    if moment >= aware(contest.closes_at):
        return "This contest is closed; see its leaderboard."
    return None


def attempt_of(contest, user):
    if user is None:
        return None
    return db.session.scalar(select(Attempt).where(Attempt.contest_id == contest.id, Attempt.user_id == user.id))


def start(contest, user):
    """Start USER's one attempt on CONTEST; the unique (contest, user) row makes a second start a Conflict."""
    if not allowed(user, "contest.take"):
        raise Forbidden("Curators and admins can see the answers, so they cannot take contests; use a visitor "
                        "account.", code="contestant_only")
    problem = window_problem(contest)
    if problem:
        raise Conflict(problem, code="contest_not_open")
    if attempt_of(contest, user) is not None:
        raise Conflict("You have already taken this contest: each person has one attempt.", code="attempt_taken")
    ids = list(contest.fixed_question_ids)
    if contest.draw_count:
        ids = random.SystemRandom().sample([q.id for q in contest.bank.questions], contest.draw_count)
    started = now()
    deadline = min(started + timedelta(seconds=contest.time_limit_s), aware(contest.closes_at))
    attempt = Attempt(contest_id=contest.id, user_id=user.id, question_ids=ids, started_at=started,
                      deadline=deadline, max_score=len(ids))
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent start of the same person won the race
        db.session.rollback()
        raise Conflict("You have already taken this contest: each person has one attempt.",
                       code="attempt_taken") from None
    return attempt


def questions_of(attempt):
    """Return the attempt's questions in drawn order."""
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(attempt.question_ids)))}
    return [found[i] for i in attempt.question_ids if i in found]


def shown_options(attempt, question):
    """Return QUESTION's options as shown in ATTEMPT: id and text only, in an order shuffled per attempt."""
    options = [{"id": o["id"], "text": o["text"]} for o in question.options]
    if question.kind != "truefalse":
        random.Random(f"{attempt.id}:{question.id}").shuffle(options)
    return options


def public_attempt(attempt):
    """Return the attempt as the person taking it sees it: nothing that hints at an answer."""
    return {"id": attempt.id, "deadline": iso(attempt.deadline),
            "questions": [{"id": q.id, "text": q.text, "kind": q.kind, "options": shown_options(attempt, q)}
                          for q in questions_of(attempt)]}


def attempt_for(user, attempt_id):
    """Return USER's attempt ATTEMPT_ID; anyone else's is NotFound (ids are not confirmed)."""
    attempt = db.session.get(Attempt, attempt_id) if user is not None and isinstance(attempt_id, str) else None
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("No attempt with this id is yours.", code="attempt_not_found")
    return attempt


def _chosen(attempt, answers):
    """Return {question id: set of option ids} from ANSWERS, refusing unknown or duplicate entries."""
    if not isinstance(answers, list):
        raise Invalid("Send 'answers' as a list of {\"question\", \"options\": [ids]}.", code="invalid_answers")
    questions, chosen = {q.id: q for q in questions_of(attempt)}, {}
    for entry in answers:
        qid = entry.get("question") if isinstance(entry, dict) else None
        if not isinstance(qid, str) or qid not in questions or qid in chosen:
            raise Invalid("Each answer names a different question of this attempt.", code="invalid_answers")
        options = entry.get("options")
        question = questions[qid]
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options) \
                or not set(options) <= {o["id"] for o in question.options}:
            raise Invalid("An answer's 'options' must be option ids of its question.", code="invalid_answers")
        if question.kind != "multiple" and len(set(options)) > 1:
            raise Invalid("A single-choice or true/false question takes one option.", code="invalid_answers")
        chosen[question.id] = set(options)
    return questions, chosen


def submit(attempt, user, answers):
    """Score ATTEMPT with ANSWERS once, before its deadline (plus GRACE_S); return the attempt."""
    if attempt.user_id != user.id:
        raise NotFound("No attempt with this id is yours.", code="attempt_not_found")
    if attempt.submitted_at is not None:
        raise Conflict("These answers were already submitted; each attempt is scored once.", code="already_submitted")
    moment = now()
    if moment > aware(attempt.deadline) + timedelta(seconds=GRACE_S):
        raise Conflict("The time for this attempt ran out before the answers arrived; they cannot be scored.",
                       code="deadline_passed")
    questions, chosen = _chosen(attempt, answers)
    results = [{"question": qid, "correct": chosen.get(qid, set()) == questions[qid].correct_ids()}
               for qid in attempt.question_ids if qid in questions]
    score = sum(r["correct"] for r in results)
    seconds = max(0, int((min(moment, aware(attempt.deadline)) - aware(attempt.started_at)).total_seconds()))
    # Compare-and-set: of two submissions racing, exactly one finds submitted_at still empty.
    done = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=moment, answers={k: sorted(v) for k, v in chosen.items()}, results=results,
                score=score, seconds=seconds).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("These answers were already submitted; each attempt is scored once.", code="already_submitted")
    db.session.refresh(attempt)
    return attempt


def scored(attempt):
    return {"score": attempt.score, "max_score": attempt.max_score, "results": attempt.results}


def passed(attempt):
    return attempt.submitted_at is not None and attempt.score >= attempt.contest.pass_score


def ranked(contest, limit=None):
    """Return [(rank, attempt, user)] of submitted attempts: score high first, then time; ties share a rank."""
    query = (select(Attempt, User).join(User, User.id == Attempt.user_id)
             .where(Attempt.contest_id == contest.id, Attempt.submitted_at.is_not(None))
             .order_by(Attempt.score.desc(), Attempt.seconds, Attempt.submitted_at, Attempt.id))
    rows, out, previous, rank = db.session.execute(query.limit(limit) if limit else query).all(), [], None, 0
    for position, (attempt, user) in enumerate(rows, start=1):
        if (attempt.score, attempt.seconds) != previous:
            rank, previous = position, (attempt.score, attempt.seconds)
        out.append((rank, attempt, user))
    return out


def leaderboard(contest, limit=100):
    return [{"rank": rank, "display_name": user.display_name, "score": a.score, "seconds": a.seconds}
            for rank, a, user in ranked(contest, limit)]


def results_csv(contest):
    """Return the contest's results as CSV text for the organisers, every cell guarded against formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "display_name", "email", "score", "max_score", "seconds", "passed", "submitted_at"])
    for rank, attempt, user in ranked(contest):
        writer.writerow([contests_banks.csv_safe(v) for v in (
            rank, user.display_name, user.email, attempt.score, attempt.max_score, attempt.seconds,
            "yes" if attempt.score >= contest.pass_score else "no", iso(attempt.submitted_at))])
    return out.getvalue()
