"""Views of the programme's works: pages (bp), JSON API (api) and the `flask --app expo works` commands."""
import csv
import sys
from pathlib import Path

import click
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from expo.bodies import json_object
from expo.errors import DomainError
from expo.extensions import csrf, db
from expo.permissions import current_actor, require
from media import services as media_services
from pavilions import form_uploads, queries
from pavilions.programme import works_services
from pavilions.programme.models_days import PROGRAMME_HOLDER

bp = Blueprint("works", __name__, template_folder="templates", cli_group="works")
api = Blueprint("works_api", __name__, url_prefix="/api/v1")


class WorkForm(FlaskForm):
    """Carries the CSRF token; the fields are read from the form."""




def _page_args():
    args = request.args
    return {"scenario": args.get("scenario") or None, "topic": args.get("topic") or None,
            "q": args.get("q", "").strip(), "limit": queries.parse_limit(args.get("limit")),
            "cursor": args.get("cursor") or None}


@api.get("/works")
def list_works():
    works, next_cursor = works_services.published(**_page_args())
    media = works_services.expand_media(works)
    return jsonify({"items": [works_services.api_item(w, media[w.id]) for w in works], "next": next_cursor})


@api.post("/works")
@require("review")
def create_work():
    work = works_services.create_work(current_actor(), json_object())
    db.session.commit()
    item = works_services.api_item(work, works_services.expand_media([work])[work.id])
    return jsonify({**item, "published": work.published}), 201


def _receive(check_csrf):
    """Stream the request's multipart `file` into a new programme media item; the caller commits."""
    return form_uploads.receive_for(current_actor(), PROGRAMME_HOLDER, check_csrf)


@api.post("/works/media")
@require("review")
def upload_media():
    media = _receive(check_csrf=False)
    db.session.commit()
    media_services.enqueue(media.id, media.kind)
    return jsonify({"id": media.id, "kind": str(media.kind), "status": str(media.status)}), 202


@bp.get("/works")
def catalogue():
    args = _page_args()
    works, next_cursor = works_services.published(**args)
    media = works_services.expand_media(works)
    return render_template("programme/works.html", works=works, media=media, next_cursor=next_cursor,
                           scenarios=works_services.SCENARIOS, topics=works_services.KNOWN_TOPICS,
                           scenario=args["scenario"] or "", topic=args["topic"] or "", q=args["q"])


@bp.get("/works/<work_id>")
def work(work_id):
    found = works_services.get_published(work_id)
    media = works_services.expand_media([found])[found.id]
    return render_template("programme/work.html", work=found, blocks=works_services.blocks(found, media))


def _form_work(form):
    return {"title": form.get("title"), "title_en": form.get("title_en"), "kind": form.get("kind"),
            "scenario": form.get("scenario"), "topics": form.get("topics", ""), "summary": form.get("summary"),
            "summary_en": form.get("summary_en"), "body": form.get("body"), "media": form.getlist("media"),
            "published": form.get("published") == "1"}


@bp.route("/review/works", methods=["GET", "POST"])
@require("review")
def manage():
    """Curators create works from programme uploads, and show or hide them."""
    form = WorkForm()
    if form.validate_on_submit():
        try:
            if request.form.get("toggle"):
                target = works_services.get(request.form["toggle"])
                works_services.set_published(target, not target.published)
            else:
                works_services.create_work(current_actor(), _form_work(request.form))
            db.session.commit()
            flash(_("The cloud class is updated."), "info")
            return redirect(url_for("works.manage"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("programme/work_review.html", form=form, works=works_services.all_for_curators(),
                           uploads=works_services.programme_media(), kinds=works_services.KINDS,
                           scenarios=works_services.SCENARIOS, values=request.form)


@bp.post("/review/works/media")
@csrf.exempt  # reads its body as a stream and checks the CSRF token itself, like the studio's upload
@require("review")
def web_upload():
    try:
        media = _receive(check_csrf=True)
        db.session.commit()
        media_services.enqueue(media.id, media.kind)
        flash(_("Uploaded: it is being processed. Choose it in the form below once it is ready."), "info")
    except DomainError as error:
        db.session.rollback()
        if error.code == "csrf_failed":  # a forged post gets the site's 400, like every other form
            raise
        flash(error.message, "error")
    return redirect(url_for("works.manage"))


@bp.cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_email", default=None, help="E-mail of the curator the works are created as.")
def import_works(csv_file, as_email):
    """Create works from a CSV (title, kind, scenario, topics, file, summary[, title_en]) and its media files."""
    try:
        actor = works_services.importer(as_email)
        with csv_file.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        works_services.check_columns(rows)
    except DomainError as error:
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(1)
    refused = 0
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        ok, message = works_services.import_row(actor, row, csv_file.parent)
        refused += not ok
        click.echo(f"line {number}: {message}")
    click.echo(f"{len(rows) - refused} work(s) created, {refused} row(s) refused.")
    if refused:
        sys.exit(1)
