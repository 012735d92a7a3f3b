"""The visitor's pages: the expo hall and published pavilions."""
from flask import Blueprint, render_template, request

from pavilions import queries, render, search
from pavilions.programme import days_services

bp = Blueprint("tour", __name__, template_folder="templates")
bp.add_app_template_global(render.image_sources, "image_sources")


@bp.get("/")
def hall():
    args = request.args
    filters = {"q": args.get("q", "").strip(), "tag": args.get("tag", ""), "kind": args.get("kind", ""),
               "day": args.get("day", "")}
    limit = queries.parse_limit(args.get("limit"), default=24)
    rows, next_cursor = queries.published(filters["q"], filters["tag"] or None, limit, args.get("cursor"),
                                          kind=filters["kind"] or None, day=filters["day"] or None)
    # Featured pavilions (and today's themed day) head the hall's first page, before any search or filter.
    first_page = not any(filters.values()) and not args.get("cursor")
    featured = queries.featured() if first_page else []
    days, today = days_services.all_days(), days_services.today()
    today_day = next((d for d in days if d.date == today), None) if first_page else None
    return render_template("tour/hall.html", rows=rows, featured=featured,
                           covers=render.cover_urls([r for _p, r in rows + featured]),
                           snippets=search.snippets(rows, filters["q"]) or {}, next_cursor=next_cursor,
                           tags=queries.hall_tags(), kinds=search.KINDS, days=days, today=today,
                           today_day=today_day, banner=days_services.banner(today_day) if today_day else None,
                           **filters)


@bp.get("/pavilions/<slug>")
def pavilion(slug):
    pav, revision = queries.published_by_slug(slug)
    return render_template("tour/pavilion.html", pavilion=pav, content=revision,
                           blocks=render.expand_blocks(revision.blocks), preview=False)


