"""Views of the programme's contests and visitor sign-up: pages (bp) and JSON API (api)."""
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user
from flask_wtf import FlaskForm

from expo import accounts, ratelimit
from expo.auth import safe_next
from expo.bodies import json_object
from expo.errors import DomainError, Invalid
from expo.extensions import db
from expo.permissions import Unauthenticated, current_actor, require, require_login
from pavilions.programme import contests_banks, registration
from pavilions.programme import contests_services as contests

bp = Blueprint("contests", __name__, template_folder="templates")
api = Blueprint("contests_api", __name__, url_prefix="/api/v1")

START_LIMIT, START_WINDOW_S = 30, 600  # attempt starts per account and per address every 10 minutes


class PostForm(FlaskForm):
    """Carries the CSRF token; the fields are read from the form."""




def _signed_in():
    actor = current_actor()
    if actor is None:
        raise Unauthenticated("Send a valid API token in the Authorization header.")
    return actor


def _start(contest, actor):
    """Rate-limit, then start ACTOR's attempt on CONTEST."""
    wait = "Too many contest starts; wait 10 minutes and try again."
    ratelimit.hit(f"contest-start-user:{actor.id}", START_LIMIT, START_WINDOW_S, wait)
    ratelimit.hit(f"contest-start-ip:{request.remote_addr}", START_LIMIT * 3, START_WINDOW_S, wait)
    attempt = contests.start(contest, actor)
    db.session.commit()
    return attempt


def _listed(contest):
    return {"id": contest.id, "title": contest.title, "opens_at": contests.iso(contest.opens_at),
            "closes_at": contests.iso(contest.closes_at), "time_limit_s": contest.time_limit_s,
            "questions": contest.question_count}


@api.post("/register")
def api_register():
    body = json_object()
    user = registration.register(body.get("email"), body.get("password"), body.get("display_name"),
                                 request.remote_addr)
    token = accounts.mint_token(user)
    db.session.commit()
    return jsonify({"id": user.id, "email": user.email, "display_name": user.display_name,
                    "role": user.role.value, "token": token}), 201


@api.get("/contests")
def api_contests():
    return jsonify([_listed(c) for c in contests.listed()])


@api.post("/contests")
@require("contest.manage")
def api_create_contest():
    contest = contests.create_contest(current_actor(), json_object())
    db.session.commit()
    return jsonify({**_listed(contest), "bank_id": contest.bank_id, "pass_score": contest.pass_score}), 201


@api.post("/contests/<contest_id>/attempts")
def api_start(contest_id):
    attempt = _start(contests.get_contest(contest_id), _signed_in())
    return jsonify(contests.public_attempt(attempt)), 201


@api.post("/attempts/<attempt_id>/answers")
def api_answers(attempt_id):
    actor = _signed_in()
    attempt = contests.attempt_for(actor, attempt_id)
    contests.submit(attempt, actor, json_object().get("answers"))
    db.session.commit()
    return jsonify(contests.scored(attempt))


@api.get("/contests/<contest_id>/leaderboard")
def api_leaderboard(contest_id):
    return jsonify(contests.leaderboard(contests.get_contest(contest_id)))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form, status = PostForm(), 200
    if form.validate_on_submit():
        try:
            user = registration.register(request.form.get("email"), request.form.get("password"),
                                         request.form.get("display_name"), request.remote_addr)
            db.session.commit()
            login_user(user)
            flash(_("Welcome, %(name)s: your account is ready.", name=user.display_name), "info")
            return redirect(safe_next(request.args.get("next") or url_for("contests.index")))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
    elif request.method == "POST":
        status = 400
    return render_template("programme/register.html", form=form, min_password=accounts.MIN_PASSWORD,
                           max_name=registration.MAX_DISPLAY_NAME), status


@bp.app_template_filter("contest_time")
def _contest_time(moment):
    return contests.local(moment)


@bp.get("/contests")
def index():
    return render_template("programme/contests.html", contests=contests.listed())


@bp.get("/contests/<contest_id>")
def show(contest_id):
    contest = contests.get_contest(contest_id)
    return render_template("programme/contest.html", contest=contest, form=PostForm(),
                           problem=contests.window_problem(contest),
                           attempt=contests.attempt_of(contest, current_actor()))


@bp.post("/contests/<contest_id>/start")
@require_login
def start(contest_id):
    contest = contests.get_contest(contest_id)
    if not PostForm().validate_on_submit():
        flash(_("The form expired; press the button again."), "error")
        return redirect(url_for("contests.show", contest_id=contest.id))
    try:
        attempt = _start(contest, current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("contests.show", contest_id=contest.id))
    return redirect(url_for("contests.attempt", attempt_id=attempt.id))


@bp.route("/attempts/<attempt_id>", methods=["GET", "POST"])
@require_login
def attempt(attempt_id):
    actor = current_actor()
    taken = contests.attempt_for(actor, attempt_id)
    form, status = PostForm(), 200
    if taken.submitted_at is None and form.validate_on_submit():
        answers = [{"question": qid, "options": request.form.getlist(f"q-{qid}")} for qid in taken.question_ids]
        try:
            contests.submit(taken, actor, answers)
            db.session.commit()
            return redirect(url_for("contests.attempt", attempt_id=taken.id))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
    if taken.submitted_at is not None:
        return render_template("programme/contest_result.html", attempt=taken, contest=taken.contest,
                               questions=contests.questions_of(taken), passed=contests.passed(taken),
                               outcome={r["question"]: r["correct"] for r in taken.results})
    expired = contests.now() > contests.aware(taken.deadline)
    questions = [] if expired else [(q, contests.shown_options(taken, q)) for q in contests.questions_of(taken)]
    return render_template("programme/contest_attempt.html", attempt=taken, contest=taken.contest, form=form,
                           questions=questions, expired=expired,
                           deadline=contests.iso(taken.deadline)), status


@bp.get("/attempts/<attempt_id>/certificate")
@require_login
def certificate(attempt_id):
    taken = contests.attempt_for(current_actor(), attempt_id)
    if not contests.passed(taken):
        raise DomainError(_("A certificate is given for a passing score only."), code="not_passed", status=404)
    return render_template("programme/contest_certificate.html", attempt=taken, contest=taken.contest,
                           user=current_actor(), when=contests.aware(taken.submitted_at))


@bp.get("/contests/<contest_id>/leaderboard")
def leaderboard(contest_id):
    contest = contests.get_contest(contest_id)
    return render_template("programme/contest_leaderboard.html", contest=contest,
                           rows=contests.leaderboard(contest))


@bp.route("/review/contests", methods=["GET", "POST"])
@require("contest.manage")
def manage():
    form, status, errors = PostForm(), 200, []
    if form.validate_on_submit():
        try:
            _manage_action(current_actor())
            db.session.commit()
            return redirect(url_for("contests.manage"))
        except contests_banks.BankErrors as error:
            db.session.rollback()
            errors, status = error.errors, error.status
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
    from pavilions.queries import published_for_curators

    return render_template("programme/contest_manage.html", form=form, errors=errors,
                           banks=contests.banks(), contests=contests.all_contests(),
                           pavilions=published_for_curators(),
                           columns=", ".join(contests_banks.CSV_COLUMNS)), status


def _manage_action(actor):
    """Run the curator's form: import a bank from CSV, or create a contest from a bank."""
    contests.require_manager(actor)
    if request.form.get("op") == "import":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Invalid(_("Choose a CSV file to import."), code="csv_required")
        bank = contests_banks.import_csv(actor, request.form.get("title"), upload.read(1024 * 1024))
        flash(_("Imported %(count)d questions into “%(title)s”.", count=len(bank.questions), title=bank.title),
              "info")
        return
    if request.form.get("op") == "question":
        fields = ("kind", "text", "correct", "explanation", *(f"option_{letter}" for letter in contests_banks.LETTERS))
        bank = contests_banks.add_question(actor, request.form.get("bank_id"), request.form.get("new_bank"),
                                           {name: request.form.get(name, "") for name in fields})
        flash(_("Added the question to “%(title)s”.", title=bank.title), "info")
        return
    draw = request.form.get("draw", "").strip()
    contest = contests.create_contest(actor, {
        "pavilion": request.form.get("pavilion") or None,
        "title": request.form.get("title"), "title_en": request.form.get("title_en") or None,
        "bank_id": request.form.get("bank_id"), "opens_at": request.form.get("opens_at"),
        "closes_at": request.form.get("closes_at"), "draw": int(draw) if draw.isdigit() else None,
        "time_limit_s": _number(request.form.get("time_limit_s")),
        "pass_score": _number(request.form.get("pass_score"))})
    flash(_("Created the contest “%(title)s”.", title=contest.title), "info")


def _number(value):
    value = (value or "").strip()
    return int(value) if value.isdigit() else value or None


@bp.get("/review/contests/<contest_id>/results.csv")
@require("contest.manage")
def results_csv(contest_id):
    contest = contests.get_contest(contest_id)
    contests.require_manager(current_actor())
    return Response(contests.results_csv(contest), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="contest-{contest.id}-results.csv"'})
