"""The editor and the review page as tools: live preview of unsaved edits, uploads straight into a block, alt text
before submission, the submission beside the live version, and straight on to the next submission."""
import io
import re

from tests import samples
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import _submit, create, put_draft
from tests.test_web import _editor_form, page


def test_live_preview_shows_unsaved_edits_in_a_frame_of_the_site_only(api, client, exhibitor):
    pavilion = create(api, exhibitor, name="Preview booth")
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>saved text</p>"}]) \
        .status_code == 200
    login(client, exhibitor)
    edit_url = f"/studio/pavilions/{pavilion['id']}"
    html = page(client, edit_url)
    assert 'name="preview"' in html and f'formaction="{edit_url}/preview"' in html and 'formtarget="preview"' in html
    form = _editor_form(html)
    form.update({"blocks-0-html": "<p>typed, <b>not saved</b></p><script>x()</script>", "name": "New name"})
    shown = client.post(f"{edit_url}/preview", data=form)
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "typed, <b>not saved</b>" in body and "<script>x()" not in body
    assert "New name" in body
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    assert shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    # Nothing was saved, and every other page still refuses to be framed.
    assert "saved text" in page(client, f"{edit_url}/preview")
    assert api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["name"] == "Preview booth"
    editor = client.get(edit_url)
    assert editor.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in \
        editor.headers["Content-Security-Policy"]
    assert "frame-src 'self'" in editor.headers["Content-Security-Policy"]
    # A bad edit explains itself inside the frame.
    form["blocks-0-kind"] = "image"
    form["blocks-0-media"] = "not-an-upload-id"
    bad = client.post(f"{edit_url}/preview", data=form)
    assert bad.status_code == 422 and "was not uploaded to this pavilion" in bad.get_data(as_text=True)
    # Without the CSRF token, no preview.
    form.pop("csrf_token")
    assert client.post(f"{edit_url}/preview", data=form).status_code == 400


def test_an_upload_goes_straight_into_its_block(app, api, client, exhibitor, worker):
    pavilion = create(api, exhibitor, name="Upload booth")
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "image"}, {"kind": "video"}]).status_code == 200
    image_block, video_block = (b["id"] for b in
                                api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["blocks"])
    login(client, exhibitor)
    edit_url = f"/studio/pavilions/{pavilion['id']}"
    html = page(client, edit_url)
    assert f"/studio/pavilions/{pavilion['id']}/upload?block={image_block}" in html
    assert f"block={video_block}&amp;kind=captions" in html
    upload_page = page(client, f"/studio/pavilions/{pavilion['id']}/upload?block={image_block}")
    assert f'data-attach-url="/studio/pavilions/{pavilion["id"]}/blocks/{image_block}/media"' in upload_page
    assert f'name="block" value="{image_block}"' in upload_page and "block 1" in upload_page

    # Without script: the page's form posts the file with the block.
    answer = client.post(f"{edit_url}/media", data={"csrf_token": csrf_from(upload_page), "block": image_block,
                                                     "file": (io.BytesIO(samples.jpeg(800, 600)), "stand.jpg")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    first = draft["blocks"][0]["media"]
    assert len(first) == 1

    # With script: the upload page attaches the finished item through the JSON call.
    second = api(exhibitor).upload(pavilion["id"], samples.jpeg(640, 480)).get_json()["id"]
    attach = f"/studio/pavilions/{pavilion['id']}/blocks/{image_block}/media"
    token = csrf_from(upload_page)
    ok = client.post(attach, json={"media_id": second}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    again = client.post(attach, json={"media_id": second}, headers={"X-CSRFToken": token})  # idempotent
    assert again.status_code == 200
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    assert draft["blocks"][0]["media"] == [*first, second]
    wrong = client.post(f"/studio/pavilions/{pavilion['id']}/blocks/{video_block}/media", json={"media_id": second},
                        headers={"X-CSRFToken": token})
    assert wrong.status_code == 422 and "the block takes video" in wrong.get_json()["error"]["message"]
    gone = client.post(f"/studio/pavilions/{pavilion['id']}/blocks/b_nosuchblock/media", json={"media_id": second},
                       headers={"X-CSRFToken": token})
    assert gone.status_code == 404
    assert client.post(attach, json={"media_id": second}).status_code == 400  # no CSRF token
    # Someone else's pavilion: not found.
    other = create(api, exhibitor, name="Other booth")
    foreign = api(exhibitor).upload(other["id"], samples.jpeg(300, 200)).get_json()["id"]
    assert client.post(attach, json={"media_id": foreign}, headers={"X-CSRFToken": token}).status_code == 404


def test_the_editor_refuses_to_submit_images_without_alt_text(api, client, exhibitor, worker):
    pavilion = create(api, exhibitor, name="Alt booth")
    media = api(exhibitor).wait_media(api(exhibitor).upload(pavilion["id"], samples.jpeg(400, 300)).get_json()["id"])
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "image", "media": [media["id"]]}]) \
        .status_code == 200
    login(client, exhibitor)
    edit_url = f"/studio/pavilions/{pavilion['id']}"
    token = csrf_from(page(client, edit_url))
    refused = client.post(f"{edit_url}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "Block 1 has images without alternative text" in refused.get_data(as_text=True)
    assert "badge status-draft" in page(client, edit_url)  # not submitted
    blocks = [{"kind": "image", "media": [media["id"]], "alt": "Two people at the stand"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    done = client.post(f"{edit_url}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "Submitted for review" in done.get_data(as_text=True)


def test_review_shows_the_submission_beside_the_live_version_and_moves_on(api, client, exhibitor, curator):
    pavilion = create(api, exhibitor, name="Compare booth")
    first = [{"kind": "text", "html": "<p>kept</p>"}, {"kind": "text", "html": "<p>old words</p>"},
             {"kind": "text", "html": "<p>dropped</p>"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=first).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    live = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["blocks"]
    changed = [live[0], {**live[1], "html": "<p>new words</p>"}, {"kind": "text", "html": "<p>added</p>"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=changed).status_code == 200
    second = _submit(api, exhibitor, pavilion)
    later = create(api, exhibitor, name="Queued after")
    assert put_draft(api, exhibitor, later["id"], blocks=[{"kind": "text", "html": "<p>x</p>"}]).status_code == 200
    following = _submit(api, exhibitor, later)

    login(client, curator)
    html = page(client, f"/review/{second}")
    assert "Submitted: version 2" in html and "Live now: version 1" in html
    submitted, live_side = html.split('id="live-h"')
    assert "new words" in submitted and "old words" in live_side and "dropped" in live_side
    assert re.search(r'review-block changed">\s*<p class="badge mark-changed">Changed block', submitted)
    assert re.search(r'review-block new">\s*<p class="badge mark-new">New block', submitted)
    assert re.search(r'review-block removed">\s*<p class="badge mark-removed">Removed in this version', live_side)
    assert 'aria-keyshortcuts="A"' in html and "/static/js/review.js" in html
    assert 'id="next-submission"' in html and following  # other submissions wait: the page offers the next
    answer = client.post(f"/review/{second}", data={"decision": "approve", "csrf_token": csrf_from(html)})
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/review/") and answer.headers["Location"] != f"/review/{second}"


def test_curators_feature_pavilions_on_the_hall(app, api, client, exhibitor, curator):
    pavilion = create(api, exhibitor, name="Featured booth")
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>x</p>"}]).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    visitor = app.test_client()
    assert 'id="featured-h"' not in visitor.get("/").get_data(as_text=True) or \
        f'data-pavilion="{pavilion["slug"]}"' not in visitor.get("/").get_data(as_text=True).split("featured-h")[1] \
        .split("</section>")[0]
    login(client, exhibitor)
    assert client.get("/review/featured").status_code == 403  # curators only
    login(client, curator)
    listing = page(client, "/review/featured")
    assert "Feature Featured booth" in listing
    answer = client.post("/review/featured", data={"csrf_token": csrf_from(listing), "pavilion": pavilion["id"],
                                                   "featured": "1"})
    assert answer.status_code == 302
    hall = visitor.get("/").get_data(as_text=True)  # the anonymous page cache follows at once
    featured = hall.split('id="featured-h"')[1].split("</section>")[0]
    assert f'data-pavilion="{pavilion["slug"]}"' in featured and "<h3>Featured booth</h3>" in featured
    assert 'id="featured-h"' not in visitor.get("/?kind=video").get_data(as_text=True)  # not when filtering
    listing = page(client, "/review/featured")
    client.post("/review/featured", data={"csrf_token": csrf_from(listing), "pavilion": pavilion["id"],
                                          "featured": "0"})
    hall = visitor.get("/").get_data(as_text=True)
    assert 'id="featured-h"' not in hall or f'data-pavilion="{pavilion["slug"]}"' not in \
        hall.split('id="featured-h"')[1].split("</section>")[0]
