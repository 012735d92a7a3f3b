"""The visitor's pages: the expo hall and published pavilions."""
from flask import Blueprint, render_template, request

from pavilions import queries, render, search

bp = Blueprint("tour", __name__, template_folder="templates")
bp.add_app_template_global(render.image_sources, "image_sources")


@bp.get("/")
def hall():
    args = request.args
    filters = {"q": args.get("q", "").strip(), "tag": args.get("tag", ""), "kind": args.get("kind", "")}
    limit = queries.parse_limit(args.get("limit"), default=24)
    rows, next_cursor = queries.published(filters["q"], filters["tag"] or None, limit, args.get("cursor"),
                                          kind=filters["kind"] or None)
    # Featured pavilions head the hall's first page, before any search or filter.
    featured = [] if any(filters.values()) or args.get("cursor") else queries.featured()
    return render_template("tour/hall.html", rows=rows, featured=featured,
                           covers=render.cover_urls([r for _p, r in rows + featured]),
                           snippets=search.snippets(rows, filters["q"]) or {}, next_cursor=next_cursor,
                           tags=queries.hall_tags(), kinds=search.KINDS, **filters)


@bp.get("/pavilions/<slug>")
def pavilion(slug):
    pav, revision = queries.published_by_slug(slug)
    return render_template("tour/pavilion.html", pavilion=pav, content=revision,
                           blocks=render.expand_blocks(revision.blocks), preview=False)


