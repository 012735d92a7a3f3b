"""The visitor's pages: the expo hall and published pavilions."""
from flask import Blueprint, make_response, redirect, render_template, request

from expo.auth import safe_next
from pavilions import queries, render

bp = Blueprint("tour", __name__, template_folder="templates")
bp.add_app_template_global(render.image_sources, "image_sources")


@bp.get("/")
def hall():
    limit = queries.parse_limit(request.args.get("limit"), default=24)
    rows, next_cursor = queries.published(request.args.get("q"), request.args.get("tag"), limit,
                                          request.args.get("cursor"))
    covers = render.cover_urls([r for _p, r in rows])
    return render_template("tour/hall.html", rows=rows, covers=covers, next_cursor=next_cursor,
                           q=request.args.get("q", ""), tag=request.args.get("tag", ""))


@bp.get("/pavilions/<slug>")
def pavilion(slug):
    pav, revision = queries.published_by_slug(slug)
    return render_template("tour/pavilion.html", pavilion=pav, content=revision,
                           blocks=render.expand_blocks(revision.blocks), preview=False)


@bp.post("/lang/<code>")
def set_language(code):
    response = make_response(redirect(safe_next(request.form.get("next"))))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
