"""Views of the programme's live broadcast: the visitor's page and the curator's schedule (bp), and the JSON API
(api): the current broadcast, scheduling it, and the players' heartbeats."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from expo import security
from expo.bodies import json_object
from expo.errors import DomainError, Invalid
from expo.extensions import db
from expo.permissions import current_actor, require
from pavilions import render
from pavilions.programme import live_services, stats

bp = Blueprint("live", __name__, template_folder="templates")
api = Blueprint("live_api", __name__, url_prefix="/api/v1")
_VIEWER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class ScheduleForm(FlaskForm):
    """Carries the CSRF token; the fields are read from the form."""


def view(broadcast):
    """The API form of BROADCAST with its viewer counts."""
    viewers_now, total = live_services.counts(broadcast)
    return {"id": broadcast.id, "title": broadcast.title, "title_en": broadcast.title_en,
            "starts_at": live_services.aware(broadcast.starts_at).isoformat(),
            "ends_at": live_services.aware(broadcast.ends_at).isoformat(),
            "status": live_services.status(broadcast), "hls_url": broadcast.hls_url,
            "replay": broadcast.replay_media_id, "viewers_now": viewers_now, "participants_total": total}




@api.get("/live")
def current():
    return jsonify(view(live_services.current()))


@api.put("/live")
@require("review")
def schedule():
    broadcast, created = live_services.schedule(current_actor(), json_object())
    db.session.commit()
    return jsonify(view(broadcast)), 201 if created else 200


@api.post("/live/heartbeat")
def heartbeat():
    body = request.get_json(silent=True) or {}
    viewer = body.get("viewer") if isinstance(body, dict) else None
    viewer = viewer if viewer is not None else request.cookies.get(stats.VID_COOKIE)
    if not isinstance(viewer, str) or not _VIEWER.match(viewer):
        raise Invalid("Send {\"viewer\": \"<8 to 64 letters, digits, - or _>\"}: the random id your page keeps.",
                      code="invalid_viewer")
    broadcast = live_services.current()
    if live_services.status(broadcast) != "live":
        raise Invalid("The broadcast is not on air; heartbeats count only while it is live.", code="not_live")
    viewers_now, total = live_services.heartbeat(broadcast, live_services.viewer_hash(viewer), request.remote_addr)
    return jsonify({"viewers_now": viewers_now, "participants_total": total})


def _csp_with(stream_url):
    """The site's CSP with the streaming service's origin added to media-src and connect-src (hls.js fetches)."""
    origin = live_services.stream_origin(stream_url)
    if origin is None:  # scheduled before addresses were checked this strictly: add nothing to the policy
        return security.content_security_policy(current_app.config, current_app.extensions["expo_embed_hosts"]())
    policy = security.content_security_policy(current_app.config, current_app.extensions["expo_embed_hosts"]())
    return policy.replace("media-src ", f"media-src {origin} ", 1).replace("connect-src 'self'",
                                                                          f"connect-src 'self' {origin}", 1)


@bp.get("/live")
def page():
    try:
        broadcast = live_services.current()
    except DomainError:
        broadcast = None
    state = live_services.status(broadcast) if broadcast else None
    replay = []
    if broadcast and state == "ended" and broadcast.replay_media_id:
        replay = render.expand_blocks([{"kind": "video", "id": "replay", "media": broadcast.replay_media_id}])
    response = current_app.make_response(render_template(
        "programme/live.html", broadcast=broadcast, state=state, blocks=replay,
        info=view(broadcast) if broadcast else None))
    if broadcast and state != "ended":
        response.headers["Content-Security-Policy"] = _csp_with(broadcast.hls_url)
    return stats.give_vid(current_app, request, response)


def _local(value, zone):
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat() if value else None
    except ValueError:
        return value


@bp.route("/review/live", methods=["GET", "POST"])
@require("review")
def review():
    form = ScheduleForm()
    zone = ZoneInfo(current_app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))
    if form.validate_on_submit():
        fields = {k: request.form.get(k, "").strip() for k in ("title", "title_en", "hls_url", "replay")}
        fields.update(starts_at=_local(request.form.get("starts_at"), zone),
                      ends_at=_local(request.form.get("ends_at"), zone))
        try:
            live_services.schedule(current_actor(), fields)
            db.session.commit()
            flash(_("The broadcast is scheduled."), "info")
            return redirect(url_for("live.review"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    try:
        broadcast = live_services.current()
    except DomainError:
        broadcast = None
    return render_template("programme/live_review.html", form=form, broadcast=broadcast,
                           info=view(broadcast) if broadcast else None, zone=str(zone))
