"""The exhibitor's studio: pavilions, the draft editor, uploads, preview, submission."""
import re
import secrets

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from expo.errors import DomainError, Invalid
from expo.extensions import db
from expo.permissions import current_actor, require
from media import services as media_services
from media.models import Media
from pavilions import blocks as block_rules
from pavilions import form_uploads, permissions, render, services

bp = Blueprint("studio", __name__, url_prefix="/studio", template_folder="templates")


class NewPavilionForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])
    slug = StringField("Address (slug)")
    summary = TextAreaField("Summary")


class ActionForm(FlaskForm):
    """An empty form: it carries only the CSRF token."""


def _checked(form):
    if not form.validate_on_submit():
        raise DomainError(_("The form expired; reload the page and try again."), code="csrf_failed")


@bp.route("/", methods=["GET", "POST"])
@require("pavilion.edit")
def index():
    from pavilions.queries import owned_by

    form = NewPavilionForm()
    if form.validate_on_submit():
        try:
            pavilion = services.create_pavilion(current_actor(), form.name.data, form.slug.data or None,
                                                form.summary.data)
            db.session.commit()
            return redirect(url_for("studio.edit", pavilion_id=pavilion.id))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("studio/index.html", form=form, pavilions=owned_by(current_actor()))


def _media_of(pavilion):
    return list(db.session.scalars(select(Media).where(Media.pavilion_id == pavilion.id)
                                   .order_by(Media.created_at.desc())))


def _form_blocks(form):
    """Rebuild the block list from the editor's fields (blocks-N-field); return (blocks, problems)."""
    count = min(int(form.get("block_count", "0") or 0), block_rules.MAX_BLOCKS)
    # Hotspot links name blocks by their number in the form; new blocks get their id here so they can be named.
    ids = [form.get(f"blocks-{i}-id") or "b_" + secrets.token_urlsafe(6) for i in range(count)]
    result, problems = [], []
    for i in range(count):
        field = lambda name, i=i: form.get(f"blocks-{i}-{name}", "")  # noqa: E731
        kind = field("kind")
        block = {"id": ids[i], "kind": kind}
        if kind == "image":
            block.update(media=form.getlist(f"blocks-{i}-media"), caption=field("caption"), alt=field("alt"))
        elif kind == "embed":
            block.update(url=field("url"), title=field("title"))
        elif kind == "text":
            block.update(html=field("html"), html_en=field("html_en"))
        else:
            block.update(media=field("media"), title=field("title"), caption=field("caption"))
            if kind == "video":
                block["captions"] = field("captions") or None
            if kind == "panorama":
                try:
                    block["hotspots"] = _hotspot_lines(field("hotspots"), i, ids)
                except Invalid as error:  # shown again as typed, with the reason; nothing is saved
                    block.update(hotspots=[], hotspots_text=field("hotspots"))
                    problems.append(error.message)
        result.append(block)
    return result, problems


_LINK = re.compile(r"\s*->\s*(\d{1,3})\s*$")


def _hotspot_lines(text, index, ids):
    """Parse 'pitch, yaw, text' lines; a line ending in '-> N' links the hotspot to block N of the form."""
    spots = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        link = _LINK.search(line)
        line = line[:link.start()] if link else line
        parts = [p.strip() for p in line.split(",", 2)]
        try:
            spot = {"pitch": float(parts[0]), "yaw": float(parts[1]), "text": parts[2] if len(parts) > 2 else ""}
        except (ValueError, IndexError):
            raise Invalid(_("Block %(n)s: write each hotspot as 'pitch, yaw, text', optionally followed by "
                            "'-> N' to link it to block N.", n=index + 1)) from None
        if link:
            number = int(link.group(1))
            if not 1 <= number <= len(ids) or number == index + 1:
                raise Invalid(_("Block %(n)s: a hotspot links to block %(m)s, which is not another block of this "
                                "pavilion.", n=index + 1, m=number))
            spot["target"] = ids[number - 1]
        spots.append(spot)
    return spots


def _apply(op, blocks):
    verb, _sep, arg = op.partition("-")
    if verb == "add" and request.form.get("add_kind") in block_rules.KINDS:
        kind = request.form["add_kind"]
        blocks.append({"kind": kind, **({"html": ""} if kind == "text" else {})})
    elif verb in ("up", "down", "remove") and arg.isdigit() and int(arg) < len(blocks):
        i = int(arg)
        if verb == "remove":
            blocks.pop(i)
        elif verb == "up" and i > 0:
            blocks[i - 1], blocks[i] = blocks[i], blocks[i - 1]
        elif verb == "down" and i < len(blocks) - 1:
            blocks[i + 1], blocks[i] = blocks[i], blocks[i + 1]
    return blocks


@bp.route("/pavilions/<pavilion_id>", methods=["GET", "POST"])
@require("pavilion.edit")
def edit(pavilion_id):
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    form = ActionForm()
    working = None
    if request.method == "POST":
        _checked(form)
        working, problems = _form_blocks(request.form)
        working = _apply(request.form.get("op", "save"), working)
        data = {"name": request.form.get("name"), "summary": request.form.get("summary"),
                "name_en": request.form.get("name_en", ""), "summary_en": request.form.get("summary_en", ""),
                "tags": request.form.get("tags", ""), "blocks": working}
        try:
            if problems:
                raise Invalid(" ".join(problems))
            services.save_draft(pavilion, current_actor(), data, int(request.form.get("version", "0") or 0))
            db.session.commit()
            flash(_("Draft saved."), "info")
            return redirect(url_for("studio.edit", pavilion_id=pavilion.id))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return render_template("studio/edit.html", pavilion=pavilion, form=form, media=_media_of(pavilion),
                           blocks=working if working is not None else pavilion.blocks, kinds=block_rules.KINDS,
                           revisions=list(reversed(pavilion.revisions)))


@bp.post("/pavilions/<pavilion_id>/media")
@require("media.upload")
def upload(pavilion_id):
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    fields = {}
    try:
        media = form_uploads.receive(current_actor(), pavilion.id, check_csrf=True, fields=fields)
        db.session.commit()
        media_services.enqueue(media.id, media.kind)
        if fields.get("block"):  # uploaded straight into a block of the draft
            services.attach_media(pavilion, current_actor(), fields["block"], media.id)
            db.session.commit()
        flash(_("Uploaded; processing has started."), "info")
    except DomainError as error:
        db.session.rollback()
        if error.code == "csrf_failed":
            raise
        flash(error.message, "error")
    return redirect(url_for("studio.edit", pavilion_id=pavilion.id))


@bp.post("/pavilions/<pavilion_id>/blocks/<block_id>/media")
@require("pavilion.edit")
def attach(pavilion_id, block_id):
    """Put an uploaded media item into a block of the draft (the upload page calls this when a file is in)."""
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    body = request.get_json(silent=True)
    media_id = (body.get("media_id") if isinstance(body, dict) else None) or request.form.get("media_id", "")
    try:
        services.attach_media(pavilion, current_actor(), block_id, str(media_id))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return jsonify(error={"code": error.code, "message": error.message}), error.status
    return jsonify(version=pavilion.version), 200


@bp.get("/pavilions/<pavilion_id>/preview")
@require("pavilion.read")
def preview(pavilion_id):
    pavilion = permissions.for_read(current_actor(), pavilion_id)
    g.frame_by_self = True  # the editor shows this page in its preview frame
    return render_template("tour/pavilion.html", pavilion=pavilion, content=pavilion,
                           blocks=render.expand_blocks(pavilion.blocks), preview=True)


@bp.post("/pavilions/<pavilion_id>/preview")
@require("pavilion.edit")
def live_preview(pavilion_id):
    """Render the editor's unsaved form as visitors would see it (the editor posts it into its preview frame)."""
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    g.frame_by_self = True
    blocks, problems = _form_blocks(request.form)
    data = {"name": request.form.get("name"), "summary": request.form.get("summary"),
            "name_en": request.form.get("name_en", ""), "summary_en": request.form.get("summary_en", ""),
            "tags": request.form.get("tags", ""), "blocks": blocks}
    try:
        if problems:
            raise Invalid(" ".join(problems))
        content = services.preview_content(pavilion, data)
    except DomainError as error:
        db.session.rollback()
        return render_template("studio/preview_error.html", message=error.message), 422
    return render_template("tour/pavilion.html", pavilion=pavilion, content=content,
                           blocks=render.expand_blocks(content.blocks), preview=True)


@bp.post("/pavilions/<pavilion_id>/submit")
@require("pavilion.edit")
def submit(pavilion_id):
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    _checked(ActionForm())
    try:
        unlabelled = block_rules.missing_alt(pavilion.blocks)
        if unlabelled:  # every image needs a text alternative for visitors who cannot see it
            raise Invalid(_("Block %(n)s has images without alternative text; describe what they show, save, then "
                            "submit again.", n=", ".join(map(str, unlabelled))), code="alt_missing")
        services.submit(pavilion, current_actor())
        db.session.commit()
        flash(_("Submitted for review. The live version stays up until a curator approves."), "info")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("studio.edit", pavilion_id=pavilion.id))
