"""Views of the programme's days: pages (bp) and JSON API (api)."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from expo.bodies import json_object
from expo.errors import DomainError
from expo.extensions import db
from expo.permissions import current_actor, require
from pavilions import queries, render
from pavilions.programme import days_services, works_services

bp = Blueprint("days", __name__, template_folder="templates")
api = Blueprint("days_api", __name__, url_prefix="/api/v1")


class DayForm(FlaskForm):
    """Carries the CSRF token; the fields are read from the form."""




@api.get("/days")
def list_days():
    return jsonify(days_services.api_list(days_services.all_days()))


@api.post("/days")
@require("review")
def create_day():
    day = days_services.save_day(current_actor(), json_object())
    db.session.commit()
    return jsonify(days_services.api_list([day])[0]), 201


@bp.get("/days/<slug>")
def day(slug):
    themed = days_services.by_slug(slug)
    rows = days_services.shown_pavilions([themed])[themed.id]
    works = days_services.shown_works([themed])[themed.id]
    return render_template("programme/day.html", day=themed, rows=rows, works=works,
                           covers=render.cover_urls([r for _p, r in rows]), banner=days_services.banner(themed),
                           is_today=themed.date == days_services.today())


def _form_data(form):
    """Read a day from the curators' form: lists come as repeated fields or comma-separated text."""
    def listed(name):
        return [v.strip() for raw in form.getlist(name) for v in raw.split(",") if v.strip()]

    return {"slug": form.get("slug", "").strip(), "date": form.get("date", ""), "name": form.get("name"),
            "name_en": form.get("name_en"), "summary": form.get("summary"), "summary_en": form.get("summary_en"),
            "banner": form.get("banner") or None, "broadcast": form.get("broadcast", "").strip() or None,
            "pavilions": listed("pavilions"), "works": listed("works"), "contests": listed("contests")}


@bp.route("/review/days", methods=["GET", "POST"])
@bp.route("/review/days/<slug>", methods=["GET", "POST"])
@require("review")
def manage(slug=None):
    """Curators create themed days, or change one, and attach pavilions, works, contests and a broadcast."""
    editing = days_services.by_slug(slug) if slug else None
    form = DayForm()
    if form.validate_on_submit():
        try:
            saved = days_services.save_day(current_actor(), _form_data(request.form), editing)
            db.session.commit()
            flash(_("The themed day %(name)s is saved.", name=saved.name), "info")
            return redirect(url_for("days.manage"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("programme/day_review.html", form=form, days=days_services.all_days(), editing=editing,
                           pavilions=queries.published_for_curators(), works=works_services.all_for_curators(),
                           banners=works_services.programme_media("image"), values=request.form)
