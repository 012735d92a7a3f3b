"""The OpenAPI 3 document of the HTTP API."""
from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
MEDIA_REF = {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"type": ["string", "null"]},
                                              "meta": {"type": "object"}, "renditions": {"type": "object"}}}
BLOCK = {"type": "object", "required": ["kind"], "properties": {
    "id": {"type": "string"}, "kind": {"enum": ["text", "image", "audio", "video", "h5", "panorama", "embed"]},
    "html": {"type": "string"}, "media": {}, "caption": {"type": "string"}, "alt": {"type": "string"},
    "title": {"type": "string"}, "captions": {}, "url": {"type": "string"},
    "hotspots": {"type": "array", "items": {"type": "object", "properties": {
        "pitch": {"type": "number"}, "yaw": {"type": "number"}, "text": {"type": "string"}}}}}}
DRAFT = {"type": "object", "required": ["version", "name", "summary", "tags", "blocks"], "properties": {
    "id": {"type": "string"}, "slug": {"type": "string"}, "status": {"type": "string"},
    "version": {"type": "integer"}, "name": {"type": "string"}, "summary": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}}, "blocks": {"type": "array", "items": BLOCK}}}
MEDIA = {"type": "object", "required": ["id", "kind", "status"], "properties": {
    "id": {"type": "string"}, "kind": {"type": "string"},
    "status": {"enum": ["queued", "processing", "ready", "failed"]}, "progress": {"type": "integer"},
    "error": {"type": ["object", "null"]}, "meta": {"type": "object"}, "renditions": {"type": "object"}}}
UPLOAD = {"type": "object", "required": ["id", "part_size", "parts"], "properties": {
    "id": {"type": "string"}, "media_id": {"type": "string"}, "part_size": {"type": "integer"},
    "size": {"type": "integer"}, "state": {"type": "string"},
    "parts": {"type": "array", "items": {"type": "object", "properties": {
        "number": {"type": "integer"}, "url": {"type": "string"}}}},
    "parts_stored": {"type": "array", "items": {"type": "object"}}}}
SUMMARY = {"type": "object", "properties": {
    "slug": {"type": "string"}, "name": {"type": "string"}, "summary": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}}, "cover_url": {"type": ["string", "null"]},
    "url": {"type": "string"},
    "snippet": {"type": ["string", "null"], "description": "only with q: HTML, the hit in <mark>, the rest escaped"}}}


DAY = {"type": "object", "required": ["slug", "name", "date", "summary", "pavilions", "works", "contests"],
       "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
                      "date": {"type": "string", "format": "date"}, "summary": {"type": "string"},
                      "pavilions": {"type": "array", "items": {"type": "string"}},
                      "works": {"type": "array", "items": {"type": "string"}},
                      "contests": {"type": "array", "items": {"type": "string"}}}}
DAY_IN = {"type": "object", "required": ["slug", "name", "date"], "properties": {
    **DAY["properties"], "name_en": {"type": "string"}, "summary_en": {"type": "string"},
    "broadcast": {"type": ["string", "null"]}, "banner": {"type": ["string", "null"]}}}
WORK = {"type": "object", "required": ["id", "title", "kind", "scenario", "topics", "media"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"},
    "kind": {"enum": ["video", "audio", "image", "h5", "article"]},
    "scenario": {"enum": ["office", "daily_life", "epidemic_prevention", "other"]},
    "topics": {"type": "array", "items": {"type": "string"}},
    "media": {"type": "array", "items": MEDIA_REF}}}
WORK_IN = {"type": "object", "required": ["title", "kind", "scenario"], "properties": {
    "title": {"type": "string"}, "title_en": {"type": "string"}, "kind": WORK["properties"]["kind"],
    "scenario": WORK["properties"]["scenario"], "topics": {"type": "array", "items": {"type": "string"}},
    "media": {"type": "array", "items": {"type": "string"}}, "summary": {"type": "string"},
    "summary_en": {"type": "string"}, "body": {"type": "string"}, "published": {"type": "boolean"}}}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary, ok_status, ok_schema, body=None, params=(), auth=True, errors=(400, 404)):
    op = {"summary": summary, "responses": {str(ok_status): {"description": "OK", **_json(ok_schema)}}}
    for status in sorted({*errors, 401, 422, 429} if auth else set(errors) | {422}):
        op["responses"][str(status)] = {"description": "Error", **_json(ERROR)}
    if body:
        op["requestBody"] = {"required": True, **body}
    if params:
        op["parameters"] = [{"name": n, "in": where, "required": where == "path", "schema": {"type": "string"}}
                            for n, where in params]
    if auth:
        op["security"] = [{"bearer": []}]
    return op


def document():
    """Return the OpenAPI document as a dict."""
    obj = {"type": "object"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cloud Expo API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": ERROR, "Draft": DRAFT, "Media": MEDIA, "Block": BLOCK}},
        "paths": {
            "/api/v1/live": {"get": _op("The current or next broadcast", 200, obj, auth=False),
                             "put": _op("Schedule or replace the next broadcast (curators)", 200, obj, _json(obj))},
            "/api/v1/live/heartbeat": {"post": _op("Count a viewer of the live broadcast", 200, obj, _json(obj),
                                                   auth=False)},
            "/api/v1/stats": {"get": _op("Expo-wide figures", 200, obj, auth=False)},
            "/api/v1/pavilions/{id}/stats": {"get": _op("A pavilion's figures per day (?format=csv)", 200, obj,
                                                        params=[("id", "path"), ("format", "query")])},
            "/api/v1/stats/play": {"post": _op("Count a media play (beacon)", 204, obj, _json(obj), auth=False)},
            "/api/v1/register": {"post": _op(
                "Register a visitor (the answer carries an API token)", 201, obj,
                _json({"type": "object", "required": ["email", "password", "display_name"],
                       "properties": {"email": {"type": "string"}, "password": {"type": "string", "minLength": 8},
                                      "display_name": {"type": "string", "maxLength": 40}}}),
                auth=False, errors=(409, 429))},
            "/api/v1/contests": {
                "get": _op("Open and past contests", 200, {"type": "array", "items": obj}, auth=False, errors=()),
                "post": _op("Create a contest (a bank id or inline questions; draw: omitted, N or [question ids])",
                            201, obj, _json(obj), errors=(403,))},
            "/api/v1/contests/{id}/attempts": {"post": _op("Start the one attempt", 201, obj, params=[("id", "path")],
                                                           errors=(403, 404, 409))},
            "/api/v1/attempts/{id}/answers": {"post": _op("Submit answers once, before the deadline", 200, obj,
                                                          _json(obj), params=[("id", "path")], errors=(404, 409))},
            "/api/v1/contests/{id}/leaderboard": {"get": _op("Leaderboard", 200, {"type": "array", "items": obj},
                                                             params=[("id", "path")], auth=False, errors=(404,))},
            "/api/v1/days": {
                "get": _op("Themed days in date order", 200, {"type": "array", "items": DAY}, auth=False, errors=()),
                "post": _op("Create a themed day (curators)", 201, DAY, _json(DAY_IN), errors=(400, 403, 409))},
            "/api/v1/works": {
                "get": _op("Published cloud-class works", 200, {"type": "object", "properties": {
                    "items": {"type": "array", "items": WORK}, "next": {"type": ["string", "null"]}}},
                    params=[("scenario", "query"), ("topic", "query"), ("q", "query"), ("limit", "query"),
                            ("cursor", "query")], auth=False, errors=(400,)),
                "post": _op("Create a work (curators)", 201, WORK, _json(WORK_IN), errors=(400, 403))},
            "/api/v1/works/media": {"post": _op("Upload a media file for the programme (curators)", 202, MEDIA,
                {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "format": "binary"}, "kind": {"type": "string"}}}}}},
                errors=(400, 403, 413, 415))},
            "/api/v1/tokens": {"post": _op(
                "Mint an API token", 201, {"type": "object", "properties": {"token": {"type": "string"}}},
                _json({"type": "object", "required": ["email", "password"],
                       "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}),
                auth=False, errors=(400, 401, 429))},
            "/api/v1/pavilions": {
                "get": _op("List published pavilions", 200, {"type": "object", "properties": {
                    "items": {"type": "array", "items": SUMMARY}, "next": {"type": ["string", "null"]}}},
                    params=[("q", "query"), ("tag", "query"), ("kind", "query"), ("day", "query"), ("limit", "query"),
                            ("cursor", "query")], auth=False, errors=(400,)),
                "post": _op("Create a pavilion", 201, obj, _json({
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "slug": {"type": "string"}, "summary": {"type": "string"}}}),
                    errors=(400, 403, 409))},
            "/api/v1/pavilions/{slug}": {"get": _op("A published pavilion", 200, obj, params=[("slug", "path")],
                                                    auth=False)},
            "/api/v1/pavilions/{id}/draft": {
                "get": _op("Read the draft", 200, DRAFT, params=[("id", "path")]),
                "put": _op("Replace the draft", 200, DRAFT, _json(DRAFT), params=[("id", "path")],
                           errors=(400, 404, 409))},
            "/api/v1/pavilions/{id}/submit": {"post": _op("Submit the draft for review", 202, obj,
                                                          params=[("id", "path")], errors=(404, 409))},
            "/api/v1/media": {"post": _op("Upload a media file", 202, MEDIA, {"content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["file", "pavilion_id"], "properties": {
                    "file": {"type": "string", "format": "binary"}, "pavilion_id": {"type": "string"},
                    "kind": {"type": "string"}}}}}}, errors=(400, 404, 413, 415))},
            "/api/v1/media/{id}": {"get": _op("Media status", 200, MEDIA, params=[("id", "path")])},
            "/api/v1/uploads": {"post": _op("Start a direct, resumable upload to the store", 201, UPLOAD, _json({
                "type": "object", "required": ["pavilion_id", "filename", "size"], "properties": {
                    "pavilion_id": {"type": "string"}, "filename": {"type": "string"},
                    "size": {"type": "integer", "minimum": 1}, "kind": {"type": "string"}}}),
                errors=(400, 404, 413, 415, 503))},
            "/api/v1/uploads/{id}": {
                "get": _op("The parts already stored, for resuming", 200, UPLOAD, params=[("id", "path")],
                           errors=(404, 409)),
                "delete": {**_op("Abort the upload", 204, obj, params=[("id", "path")], errors=(404, 409)),
                           "responses": {"204": {"description": "Aborted"}, **{
                               str(s): {"description": "Error", **_json(ERROR)} for s in (401, 404, 409)}}}},
            "/api/v1/uploads/{id}/complete": {"post": _op("Join the parts and queue processing", 202, MEDIA, _json({
                "type": "object", "properties": {"parts": {"type": "array", "items": {"type": "object", "properties": {
                    "number": {"type": "integer"}, "etag": {"type": "string"}}}}}}),
                params=[("id", "path")], errors=(400, 404, 409, 413, 415))},
            "/api/v1/reviews": {"get": _op("Pending submissions, oldest first", 200,
                                           {"type": "array", "items": obj}, errors=(403,))},
            "/api/v1/reviews/{id}": {"post": _op("Approve or reject a submission", 200, obj, _json({
                "type": "object", "required": ["decision"], "properties": {
                    "decision": {"enum": ["approve", "reject"]}, "reason": {"type": "string"}}}),
                params=[("id", "path")], errors=(403, 404, 409))},
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
