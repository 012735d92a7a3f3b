"""The curator's pages: the review queue and one submission with its preview and changes."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from expo.errors import DomainError
from expo.extensions import db
from expo.permissions import current_actor, require
from pavilions import embeds, permissions, queries, render, services

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")


class DecisionForm(FlaskForm):
    """Carries the CSRF token; decision and reason are read from the form."""


@bp.route("/embeds", methods=["GET", "POST"])
@require("review")
def embed_hosts():
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            if request.form.get("remove"):
                embeds.remove(request.form["remove"])
                flash(_("Removed."), "info")
            else:
                flash(_("%(host)s is now allowed.", host=embeds.add(request.form.get("host"), current_actor())), "info")
            db.session.commit()
            return redirect(url_for("review.embed_hosts"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("review/embeds.html", form=form, hosts=embeds.listed())


@bp.route("/featured", methods=["GET", "POST"])
@require("review")
def featured():
    """Curators choose the pavilions the hall features."""
    form = DecisionForm()
    if form.validate_on_submit():
        from pavilions.models import Pavilion

        pavilion = db.session.get(Pavilion, request.form.get("pavilion", ""))
        try:
            if pavilion is None:
                raise DomainError(_("No such pavilion."), code="pavilion_not_found")
            services.set_featured(pavilion, request.form.get("featured") == "1")
            db.session.commit()
            flash(_("The hall's featured pavilions are updated."), "info")
            return redirect(url_for("review.featured"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("review/featured.html", form=form, rows=queries.published_for_curators())


@bp.get("/")
@require("review")
def queue():
    return render_template("review/queue.html", revisions=queries.review_queue())


@bp.route("/<revision_id>", methods=["GET", "POST"])
@require("review")
def show(revision_id):
    revision = permissions.revision_for_review(current_actor(), revision_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide(revision, current_actor(), request.form.get("decision"), request.form.get("reason"))
            db.session.commit()
            flash(_("Decision recorded."), "info")
            following = _next_pending(revision.id)  # a long queue: straight on to the next submission
            return redirect(url_for("review.show", revision_id=following) if following else url_for("review.queue"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    live = queries.live_revision(revision.pavilion)
    live = live if live is not None and live.id != revision.id else None
    return render_template("review/show.html", revision=revision, form=form, changes=queries.changes(revision),
                           blocks=render.expand_blocks(revision.blocks), live=live,
                           live_blocks=render.expand_blocks(live.blocks) if live else None,
                           next_id=_next_pending(revision.id))


def _next_pending(revision_id):
    """The oldest pending submission other than REVISION_ID, or None."""
    return next((r.id for r in queries.review_queue() if r.id != revision_id), None)
