"""Views of the programme's statistics: the owner's and the curators' dashboards (bp), and the JSON API (api):
expo-wide figures, a pavilion's figures per day (JSON or CSV) and the players' play beacon."""
from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from expo.errors import NotFound
from expo.extensions import db
from expo.permissions import current_actor, require
from media.models import Media
from pavilions import permissions
from pavilions.programme import stats, stats_reports
from pavilions.programme.models_stats import EXPO

bp = Blueprint("stats", __name__, template_folder="templates")
api = Blueprint("stats_api", __name__, url_prefix="/api/v1")
bp.record_once(lambda state: stats.install(state.app))


@api.get("/stats")
def expo_figures():
    return jsonify(stats_reports.expo_totals())


def _pavilion_days(pavilion):
    return stats_reports.per_day(f"pavilion:{pavilion.id}", pavilion.id)


@api.get("/pavilions/<pavilion_id>/stats")
@require("pavilion.read")
def pavilion_figures(pavilion_id):
    pavilion = permissions.for_read(current_actor(), pavilion_id)
    days = _pavilion_days(pavilion)
    if request.args.get("format") == "csv":
        return Response(stats_reports.to_csv(days), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="pavilion-{pavilion.slug}-stats.csv"'})
    columns = stats_reports.COLUMNS
    return jsonify({"pavilion": pavilion.id, "days": [{c: d[c] for c in columns} for d in days]})


@api.post("/stats/play")
def play():
    body = request.get_json(silent=True, force=True)  # sendBeacon posts text/plain
    media_id = body.get("media") if isinstance(body, dict) else None
    media = db.session.get(Media, media_id) if isinstance(media_id, str) and len(media_id) <= 24 else None
    if media is None or not media.public:
        raise NotFound("Send {\"media\": \"<id>\"} with the id of a published audio or video.",
                       code="media_not_found")
    if stats.is_bot(request.headers.get("User-Agent", "")):
        return "", 204
    if not current_app.config.get("EXPO_STATS", True):
        return "", 204
    stats.count_play(current_app._get_current_object(), media)
    return stats.give_vid(current_app, request, current_app.make_response(("", 204)))


@bp.get("/studio/pavilions/<pavilion_id>/stats")
@require("pavilion.read")
def pavilion_dashboard(pavilion_id):
    pavilion = permissions.for_read(current_actor(), pavilion_id)
    days = _pavilion_days(pavilion)
    return render_template("programme/stats_pavilion.html", pavilion=pavilion, days=days,
                           views_chart=stats_reports.bar_chart(days, "views"),
                           top=stats_reports.top_media(pavilion.id))


@bp.get("/review/stats")
@require("review")
def expo_dashboard():
    days = stats_reports.per_day(EXPO)
    return render_template("programme/stats_expo.html", totals=stats_reports.expo_totals(), days=days,
                           views_chart=stats_reports.bar_chart(days, "views"),
                           visits_chart=stats_reports.bar_chart(days, "visits"), title=_("Expo statistics"))

