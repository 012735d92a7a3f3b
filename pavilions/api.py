"""The pavilion API: public reads, the owner's draft, uploads, submission and review."""
from flask import Blueprint, jsonify, request, url_for

from expo.bodies import json_object
from expo.extensions import db
from expo.permissions import current_actor, require
from media import services as media_services
from pavilions import form_uploads, permissions, queries, render, search, services

api = Blueprint("pavilions_api", __name__, url_prefix="/api/v1")




@api.get("/pavilions")
def list_published():
    limit = queries.parse_limit(request.args.get("limit"))
    q = request.args.get("q")
    rows, next_cursor = queries.published(q, request.args.get("tag"), limit, request.args.get("cursor"),
                                          kind=request.args.get("kind"), day=request.args.get("day"))
    covers = render.cover_urls([r for _p, r in rows])
    snippets = search.snippets(rows, q)
    items = []
    for p, r in rows:
        item = {"slug": p.slug, "name": r.name, "summary": r.summary, "tags": r.tags, "cover_url": covers.get(r.id),
                "url": url_for("tour.pavilion", slug=p.slug, _external=True)}
        if snippets is not None:  # HTML: the hit in <mark>, the rest escaped
            item["snippet"] = str(snippets[r.id]) if snippets.get(r.id) else None
        items.append(item)
    return jsonify({"items": items, "next": next_cursor})


@api.get("/pavilions/<slug>")
def show_published(slug):
    pavilion, revision = queries.published_by_slug(slug)
    return jsonify(render.published_view(pavilion, revision))


@api.post("/pavilions")
@require("pavilion.create")
def create():
    body = json_object()
    pavilion = services.create_pavilion(current_actor(), body.get("name"), body.get("slug"), body.get("summary"))
    db.session.commit()
    return jsonify({"id": pavilion.id, "slug": pavilion.slug, "status": str(pavilion.status)}), 201


@api.get("/pavilions/<pavilion_id>/draft")
@require("pavilion.read")
def read_draft(pavilion_id):
    return jsonify(services.draft(permissions.for_read(current_actor(), pavilion_id)))


@api.put("/pavilions/<pavilion_id>/draft")
@require("pavilion.edit")
def write_draft(pavilion_id):
    body = json_object()
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    services.save_draft(pavilion, current_actor(), body, body.get("version"))
    db.session.commit()
    return jsonify(services.draft(pavilion))


@api.post("/pavilions/<pavilion_id>/submit")
@require("pavilion.edit")
def submit(pavilion_id):
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    revision = services.submit(pavilion, current_actor())
    db.session.commit()
    return jsonify({"id": revision.id, "pavilion_id": pavilion.id, "status": str(pavilion.status)}), 202


@api.post("/media")
@require("media.upload")
def upload_media():
    media = form_uploads.receive(current_actor())
    db.session.commit()
    media_services.enqueue(media.id, media.kind)
    return jsonify({"id": media.id, "kind": str(media.kind), "status": str(media.status)}), 202


def _review_item(revision):
    return {"id": revision.id, "pavilion_id": revision.pavilion_id, "slug": revision.pavilion.slug,
            "name": revision.name, "number": revision.number, "submitted_at": revision.submitted_at.isoformat(),
            "changes": queries.changes(revision)}


@api.get("/reviews")
@require("review")
def review_queue():
    return jsonify([_review_item(r) for r in queries.review_queue()])


@api.post("/reviews/<revision_id>")
@require("review")
def decide(revision_id):
    body = json_object()
    revision = permissions.revision_for_review(current_actor(), revision_id)
    services.decide(revision, current_actor(), body.get("decision"), body.get("reason"))
    db.session.commit()
    pavilion = revision.pavilion
    return jsonify({"id": revision.id, "state": str(revision.state), "pavilion_status": str(pavilion.status),
                    "published_at": pavilion.published_at.isoformat() if pavilion.published_at else None})
