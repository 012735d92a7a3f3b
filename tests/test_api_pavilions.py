"""The pavilion API as an integration would use it: drafts, locking, ownership, review, publication."""
import pytest

from tests import samples


def create(api, user, name="Booth", **extra):
    answer = api(user).post("/api/v1/pavilions", json={"name": name, **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def put_draft(api, user, pavilion_id, **changes):
    current = api(user).get(f"/api/v1/pavilions/{pavilion_id}/draft").get_json()
    return api(user).put(f"/api/v1/pavilions/{pavilion_id}/draft", json={**current, **changes})


def publish(api, exhibitor, curator, pavilion, blocks):
    """Put BLOCKS in PAVILION's draft, submit it and approve it; return the revision's id."""
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit")
    assert review.status_code == 202, review.get_json()
    approved = api(curator).post(f"/api/v1/reviews/{review.get_json()['id']}", json={"decision": "approve"})
    assert approved.status_code == 200, approved.get_json()
    return review.get_json()["id"]


def assert_error(answer, status, code=None):
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"].endswith(".")
    if code:
        assert body["error"]["code"] == code


def test_create_returns_id_slug_and_draft_status(api, exhibitor):
    body = create(api, exhibitor, "Data Security Hall", summary="Keep data safe")
    assert body["slug"] == "data-security-hall" and body["status"] == "draft" and body["id"]


def test_chinese_name_gets_a_usable_slug(api, exhibitor):
    body = create(api, exhibitor, "网络安全馆")
    assert body["slug"].startswith("pavilion-")


def test_taken_slug_is_a_conflict(api, exhibitor):
    create(api, exhibitor, "One", slug="same-slug-x1")
    assert_error(api(exhibitor).post("/api/v1/pavilions", json={"name": "Two", "slug": "same-slug-x1"}), 409,
                 "slug_taken")


@pytest.mark.parametrize("body,code", [({}, "name_required"), ({"name": "x", "slug": "Bad Slug"}, "invalid_slug"),
                                       ({"name": "x" * 121}, "name_too_long")])
def test_create_refuses_bad_input(api, exhibitor, body, code):
    assert_error(api(exhibitor).post("/api/v1/pavilions", json=body), 422, code)


def test_anonymous_and_visitors_cannot_create(api, make_user):
    assert_error(api().post("/api/v1/pavilions", json={"name": "x"}), 401, "unauthorized")
    assert_error(api(make_user("visitor")).post("/api/v1/pavilions", json={"name": "x"}), 403, "forbidden")


def test_unknown_token_is_refused(client):
    answer = client.get("/api/v1/reviews", headers={"Authorization": "Bearer expo_nope"})
    assert_error(answer, 401)


def test_every_block_kind_is_stored_and_text_is_sanitised(api, exhibitor):
    pav = create(api, exhibitor)
    answer = put_draft(api, exhibitor, pav["id"], blocks=[
        {"kind": "text", "html": '<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(2)">l</a>'
                                 '<img src=x onerror=alert(3)></p><svg><style><img src=x onerror=alert(4)>'},
        {"kind": "embed", "url": "https://player.bilibili.com/player.html?bvid=1"},
    ], tags=["安全", "data", "data"])
    assert answer.status_code == 200, answer.get_json()
    draft = answer.get_json()
    html = draft["blocks"][0]["html"]
    for bad in ("script", "onclick", "javascript:", "onerror", "<img", "<svg"):
        assert bad not in html
    assert "Hi" in html and draft["tags"] == ["安全", "data"] and draft["version"] == 2
    assert [b["kind"] for b in draft["blocks"]] == ["text", "embed"]


def test_media_kinds_are_stored_with_their_fields(api, exhibitor, worker):
    pav = create(api, exhibitor)
    image = api(exhibitor).upload(pav["id"], samples.jpeg(400, 300)).get_json()
    pano = api(exhibitor).upload(pav["id"], samples.jpeg(800, 400), kind="panorama").get_json()
    blocks = [{"kind": "image", "media": [image["id"]], "caption": "c", "alt": "a"},
              {"kind": "panorama", "media": pano["id"], "hotspots": [{"pitch": 1, "yaw": -20, "text": "door"}]}]
    answer = put_draft(api, exhibitor, pav["id"], blocks=blocks)
    assert answer.status_code == 200, answer.get_json()
    stored = answer.get_json()["blocks"]
    assert stored[0]["media"] == [image["id"]] and stored[1]["hotspots"][0]["text"] == "door"


@pytest.mark.parametrize("block,code", [
    ({"kind": "poster"}, "invalid_block"),
    ({"kind": "image", "media": "not-a-list"}, "invalid_block"),
    ({"kind": "video", "media": 12}, "invalid_block"),
    ({"kind": "video", "media": "no-such-media"}, "unknown_media"),
    ({"kind": "audio", "media": "no-such-media"}, "unknown_media"),
    ({"kind": "h5", "media": "no-such-media"}, "unknown_media"),
    ({"kind": "panorama", "media": "m", "hotspots": [{"pitch": 200, "yaw": 0, "text": ""}]}, "invalid_block"),
    ({"kind": "embed", "url": "https://evil.example/x"}, "embed_host_not_allowed"),
    ({"kind": "embed", "url": "http://player.bilibili.com/x"}, "invalid_embed"),
])
def test_invalid_blocks_are_refused_with_the_reason(api, exhibitor, block, code):
    pav = create(api, exhibitor)
    assert_error(put_draft(api, exhibitor, pav["id"], blocks=[block]), 422, code)
    assert api(exhibitor).get(f"/api/v1/pavilions/{pav['id']}/draft").get_json()["version"] == 1


def test_stale_version_is_a_conflict(api, exhibitor):
    pav = create(api, exhibitor)
    first = api(exhibitor).get(f"/api/v1/pavilions/{pav['id']}/draft").get_json()
    assert api(exhibitor).put(f"/api/v1/pavilions/{pav['id']}/draft", json={**first, "summary": "a"}).status_code \
        == 200
    assert_error(api(exhibitor).put(f"/api/v1/pavilions/{pav['id']}/draft", json={**first, "summary": "b"}), 409,
                 "stale_version")
    assert api(exhibitor).get(f"/api/v1/pavilions/{pav['id']}/draft").get_json()["summary"] == "a"


def test_mass_assignment_of_owner_or_status_is_ignored(api, exhibitor, make_user):
    other = make_user("exhibitor")
    pav = create(api, exhibitor)
    answer = put_draft(api, exhibitor, pav["id"], owner_id=other.id, status="published", live_revision_id="x")
    assert answer.status_code == 200 and answer.get_json()["status"] == "draft"
    assert api(other).get(f"/api/v1/pavilions/{pav['id']}/draft").status_code == 404


def test_other_exhibitors_get_404_on_drafts_submit_and_media(api, exhibitor, make_user, worker):
    intruder = make_user("exhibitor")
    pav = create(api, exhibitor)
    media = api(exhibitor).upload(pav["id"], samples.jpeg(400, 300)).get_json()
    assert_error(api(intruder).get(f"/api/v1/pavilions/{pav['id']}/draft"), 404)
    assert_error(api(intruder).put(f"/api/v1/pavilions/{pav['id']}/draft", json={"version": 1, "name": "x"}), 404)
    assert_error(api(intruder).post(f"/api/v1/pavilions/{pav['id']}/submit"), 404)
    assert_error(api(intruder).get(f"/api/v1/media/{media['id']}"), 404)
    assert_error(api(intruder).upload(pav["id"], samples.jpeg(100, 100)), 404)


def test_curators_can_read_drafts_but_not_write(api, exhibitor, curator):
    pav = create(api, exhibitor)
    assert api(curator).get(f"/api/v1/pavilions/{pav['id']}/draft").status_code == 200
    assert api(curator).put(f"/api/v1/pavilions/{pav['id']}/draft", json={"version": 1}).status_code == 403


def _publishable(api, user, text="<p>hello</p>", **extra):
    pav = create(api, user, **extra)
    assert put_draft(api, user, pav["id"], blocks=[{"kind": "text", "html": text}]).status_code == 200
    return pav


def _submit(api, user, pav):
    answer = api(user).post(f"/api/v1/pavilions/{pav['id']}/submit")
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["id"]


def test_unpublished_pavilions_are_unreachable(api, client, exhibitor):
    pav = _publishable(api, exhibitor, slug="secret-draft-1")
    _submit(api, exhibitor, pav)
    assert_error(api().get("/api/v1/pavilions/secret-draft-1"), 404)
    assert client.get("/pavilions/secret-draft-1").status_code == 404
    assert "secret-draft-1" not in client.get("/").get_data(as_text=True)
    slugs = [i["slug"] for i in api().get("/api/v1/pavilions?limit=100").get_json()["items"]]
    assert "secret-draft-1" not in slugs


def test_review_flow_publishes_and_keeps_live_version_until_approval(api, client, exhibitor, curator):
    pav = _publishable(api, exhibitor, text="<p>first version</p>", tags=None)
    review_id = _submit(api, exhibitor, pav)
    queue = api(curator).get("/api/v1/reviews").get_json()
    assert review_id in [r["id"] for r in queue]
    assert api(curator).post(f"/api/v1/reviews/{review_id}", json={"decision": "approve"}).status_code == 200
    live = api().get(f"/api/v1/pavilions/{pav['slug']}").get_json()
    assert live["blocks"][0]["html"] == "<p>first version</p>" and live["published_at"]
    assert 'data-block-kind="text"' in client.get(f"/pavilions/{pav['slug']}").get_data(as_text=True)

    put_draft(api, exhibitor, pav["id"], blocks=[{"kind": "text", "html": "<p>second version</p>"}])
    second = _submit(api, exhibitor, pav)
    item = next(r for r in api(curator).get("/api/v1/reviews").get_json() if r["id"] == second)
    assert item["changes"]["changed"] or item["changes"]["added"]
    assert api().get(f"/api/v1/pavilions/{pav['slug']}").get_json()["blocks"][0]["html"] == "<p>first version</p>"
    assert_error(api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "reject"}), 422, "reason_required")
    rejected = api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "reject", "reason": "Fix typo."})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    assert api().get(f"/api/v1/pavilions/{pav['slug']}").get_json()["blocks"][0]["html"] == "<p>first version</p>"
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pav['id']}/draft").get_json()
    assert draft["status"] == "rejected"
    assert draft["reviews"][0]["decisions"][-1] == {**draft["reviews"][0]["decisions"][-1], "decision": "reject",
                                                    "reason": "Fix typo."}
    assert_error(api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "approve"}), 409,
                 "already_decided")


def test_decisions_are_appended_never_overwritten(app, api, exhibitor, curator):
    from expo.extensions import db
    from pavilions.models import ReviewDecision, Revision

    pav = _publishable(api, exhibitor)
    first = _submit(api, exhibitor, pav)
    second = _submit(api, exhibitor, pav)  # supersedes the first
    api(curator).post(f"/api/v1/reviews/{second}", json={"decision": "reject", "reason": "No."})
    put_draft(api, exhibitor, pav["id"], summary="better")
    third = _submit(api, exhibitor, pav)
    api(curator).post(f"/api/v1/reviews/{third}", json={"decision": "approve"})
    with app.app_context():
        log = db.session.scalars(db.select(ReviewDecision).join(Revision).where(Revision.pavilion_id == pav["id"])
                                 .order_by(ReviewDecision.created_at)).all()
        assert [(d.revision_id, d.decision.value) for d in log] == [
            (first, "supersede"), (second, "reject"), (third, "approve")]
        assert log[1].reason == "No."


def test_review_queue_is_oldest_first(api, make_user, curator):
    ids = []
    for _ in range(3):
        owner = make_user("exhibitor")
        ids.append(_submit(api, owner, _publishable(api, owner)))
    queue = [r["id"] for r in api(curator).get("/api/v1/reviews").get_json()]
    assert [i for i in queue if i in ids] == ids


def test_reviews_need_a_curator(api, exhibitor):
    assert_error(api(exhibitor).get("/api/v1/reviews"), 403)
    assert_error(api(exhibitor).post("/api/v1/reviews/x", json={"decision": "approve"}), 403)


def test_submit_refuses_empty_drafts_and_blocks_without_media(api, exhibitor):
    pav = create(api, exhibitor)
    assert_error(api(exhibitor).post(f"/api/v1/pavilions/{pav['id']}/submit"), 409, "empty_draft")
    assert put_draft(api, exhibitor, pav["id"], blocks=[{"kind": "text", "html": "x"}, {"kind": "image"},
                                                        {"kind": "video", "media": None}]).status_code == 200
    answer = api(exhibitor).post(f"/api/v1/pavilions/{pav['id']}/submit")
    assert_error(answer, 409, "media_missing")
    assert "Block 2, 3" in answer.get_json()["error"]["message"]


def test_listing_filters_by_tag_and_query_and_pages_with_a_cursor(api, make_user, curator):
    owner = make_user("exhibitor")
    marker = "zq" + owner.id[:6].lower().replace("-", "x").replace("_", "x")
    slugs = []
    for i in range(3):
        pav = _publishable(api, owner, name=f"{marker} hall {i}")
        put_draft(api, owner, pav["id"], tags=[marker])
        api(curator).post(f"/api/v1/reviews/{_submit(api, owner, pav)}", json={"decision": "approve"})
        slugs.append(pav["slug"])
    page = api().get(f"/api/v1/pavilions?tag={marker}&limit=2").get_json()
    assert len(page["items"]) == 2 and page["next"]
    rest = api().get(f"/api/v1/pavilions?tag={marker}&limit=2&cursor={page['next']}").get_json()
    assert rest["next"] is None
    assert sorted(i["slug"] for i in page["items"] + rest["items"]) == sorted(slugs)
    found = api().get(f"/api/v1/pavilions?q={marker} hall 1").get_json()["items"]
    assert [i["slug"] for i in found] == [slugs[1]]
    assert set(found[0]) == {"slug", "name", "summary", "tags", "cover_url", "url", "snippet"}
    assert_error(api().get("/api/v1/pavilions?cursor=garbage"), 422, "invalid_cursor")
    assert_error(api().get("/api/v1/pavilions?limit=0"), 422, "invalid_limit")


def test_api_errors_are_json_never_html(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)
    assert_error(client.delete("/api/v1/pavilions"), 405)
    assert_error(client.post("/api/v1/tokens", data="not json"), 422)


def test_openapi_document_names_every_contract_path(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/pavilions", "/api/v1/pavilions/{slug}", "/api/v1/pavilions/{id}/draft",
                 "/api/v1/pavilions/{id}/submit", "/api/v1/media", "/api/v1/media/{id}", "/api/v1/reviews",
                 "/api/v1/reviews/{id}", "/api/v1/tokens", "/api/v1/uploads", "/api/v1/uploads/{id}",
                 "/api/v1/uploads/{id}/complete"):
        assert path in doc["paths"]
