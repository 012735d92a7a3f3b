"""Resumable direct-to-storage uploads on the real SeaweedFS: parts, resume, verification, refusals, expiry."""
import io
import math
import os
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests import samples
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import assert_error, create

MIB = 1024 * 1024


@pytest.fixture
def pavilion(api, exhibitor):
    return create(api, exhibitor)


@pytest.fixture
def small_parts(app):
    """Parts of 5 MiB, the smallest S3 joins, so that a test file spans several of them."""
    saved = app.config["EXPO_UPLOAD_PART_BYTES"]
    app.config["EXPO_UPLOAD_PART_BYTES"] = 5 * MIB
    yield 5 * MIB
    app.config["EXPO_UPLOAD_PART_BYTES"] = saved


@pytest.fixture(scope="module")
def noise_jpeg():
    """A JPEG of random noise, incompressible and over 10 MiB: three parts of 5 MiB."""
    width, height = 2600, 2300
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "JPEG", quality=100)
    data = out.getvalue()
    assert 10 * MIB < len(data) <= 15 * MIB
    return data


@pytest.fixture(scope="module")
def padded_jpeg():
    """A small JPEG followed by 11 MiB of noise: three parts, yet cheap for the worker to process."""
    return samples.jpeg(640, 480) + os.urandom(11 * MIB)


def start(api, user, pavilion, data, **extra):
    body = {"pavilion_id": pavilion["id"], "filename": "noise.jpg", "size": len(data), **extra}
    return api(user).post("/api/v1/uploads", json=body)


def started(api, user, pavilion, data, **extra):
    answer = start(api, user, pavilion, data, **extra)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def piece(data, part_size, number):
    return data[(number - 1) * part_size:number * part_size]


def put(url, data):
    """PUT DATA to a presigned part URL as a browser would; return the ETag the store answers."""
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
        return answer.headers["ETag"]


def complete(api, user, upload_id, parts=None):
    return api(user).post(f"/api/v1/uploads/{upload_id}/complete", json={"parts": parts or []})


def delete(api, user, path):
    return api(user).client.delete(path, headers={"Authorization": f"Bearer {user.token}"})


def test_direct_upload_in_parts_becomes_ready(api, stack, exhibitor, pavilion, worker, small_parts, noise_jpeg):
    body = started(api, exhibitor, pavilion, noise_jpeg, kind="image")
    assert set(body) == {"id", "media_id", "part_size", "parts"} and body["part_size"] == small_parts
    count = math.ceil(len(noise_jpeg) / small_parts)
    assert count == 3 and [p["number"] for p in body["parts"]] == [1, 2, 3]
    store = urlsplit(stack.env["EXPO_S3_ENDPOINT"])
    assert all(urlsplit(p["url"]).netloc == store.netloc and "X-Amz-Signature=" in p["url"] for p in body["parts"])
    parts = [{"number": p["number"], "etag": put(p["url"], piece(noise_jpeg, small_parts, p["number"]))}
             for p in body["parts"]]
    done = complete(api, exhibitor, body["id"], parts)
    assert done.status_code == 202, done.get_json()
    assert done.get_json() == {"id": body["media_id"], "kind": "image", "status": "queued"}
    media = api(exhibitor).wait_media(body["media_id"], timeout=120)
    assert media["status"] == "ready", media
    assert media["meta"]["width"] == 2600 and media["meta"]["height"] == 2300
    assert "w2560.jpg" in media["renditions"]
    again = complete(api, exhibitor, body["id"], parts)
    assert again.status_code == 202 and again.get_json()["id"] == body["media_id"]
    state = api(exhibitor).get(f"/api/v1/uploads/{body['id']}").get_json()
    assert state["state"] == "completed" and state["media_id"] == body["media_id"] and state["parts"] == []


def test_an_interrupted_upload_resumes_from_the_stored_parts(api, exhibitor, pavilion, small_parts, padded_jpeg):
    body = started(api, exhibitor, pavilion, padded_jpeg)
    first = put(body["parts"][0]["url"], piece(padded_jpeg, small_parts, 1))
    state = api(exhibitor).get(f"/api/v1/uploads/{body['id']}")
    assert state.status_code == 200
    state = state.get_json()
    assert state["state"] == "open" and state["size"] == len(padded_jpeg) and state["part_size"] == small_parts
    assert state["parts_stored"] == [{"number": 1, "etag": first, "size": small_parts}]
    assert [p["number"] for p in state["parts"]] == [2, 3]
    for part in state["parts"]:
        put(part["url"], piece(padded_jpeg, small_parts, part["number"]))
    done = complete(api, exhibitor, body["id"], [{"number": 1, "etag": first}])
    assert done.status_code == 202 and done.get_json()["kind"] == "image"


def test_completing_with_a_missing_or_changed_part_names_it(api, exhibitor, pavilion, small_parts, padded_jpeg):
    body = started(api, exhibitor, pavilion, padded_jpeg)
    urls = {p["number"]: p["url"] for p in body["parts"]}
    etags = {n: put(urls[n], piece(padded_jpeg, small_parts, n)) for n in (1, 3)}
    answer = complete(api, exhibitor, body["id"], [{"number": n, "etag": e} for n, e in etags.items()])
    assert_error(answer, 409, "parts_missing")
    assert "Part(s) 2 of 3" in answer.get_json()["error"]["message"]
    put(urls[2], piece(padded_jpeg, small_parts, 2))
    changed = complete(api, exhibitor, body["id"], [{"number": 1, "etag": etags[1]}, {"number": 3, "etag": '"0f"'}])
    assert_error(changed, 409, "parts_mismatch")
    assert "Part(s) 3 differ" in changed.get_json()["error"]["message"]
    assert_error(complete(api, exhibitor, body["id"], [{"number": 4}]), 422, "invalid_parts")
    assert complete(api, exhibitor, body["id"]).status_code == 202


def test_a_part_of_the_wrong_size_is_refused(api, exhibitor, pavilion, small_parts, padded_jpeg):
    body = started(api, exhibitor, pavilion, padded_jpeg)
    for part in body["parts"]:
        data = piece(padded_jpeg, small_parts, part["number"])
        put(part["url"], data[:-1] if part["number"] == 2 else data)
    answer = complete(api, exhibitor, body["id"])
    assert_error(answer, 409, "parts_mismatch")
    assert "Part(s) 2 do not have the expected size" in answer.get_json()["error"]["message"]


def test_declared_size_over_the_limit_is_refused_before_any_byte(app, api, exhibitor, pavilion, monkeypatch):
    from media import services
    from media.states import MediaKind
    from media.storage import get_storage

    with app.app_context():
        before = len(get_storage().list_multipart_uploads("originals/"))
    over = app.config["EXPO_MAX_IMAGE_BYTES"] + 1
    answer = api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": "big.jpg",
                                                          "size": over, "kind": "image"})
    assert_error(answer, 413, "too_large")
    assert "the limit for image uploads is 50 MB" in answer.get_json()["error"]["message"]
    with app.app_context():
        largest = max(services.limit_for(kind) for kind in services.PROCESSED_KINDS)
    assert_error(api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": "x",
                                                              "size": largest + 1}), 413, "too_large")
    for size in (0, -5, "12", True, None, 1.5):
        assert_error(api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "size": size}),
                     422, "invalid_size")
    assert_error(api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "size": 10,
                                                              "kind": "nonsense"}), 415, "unknown_kind")
    monkeypatch.setattr(services, "PROCESSED_KINDS", {MediaKind.IMAGE})
    assert_error(api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "size": 10,
                                                              "kind": "audio"}), 415, "kind_not_processed")
    assert_error(api(exhibitor).post("/api/v1/uploads", data="size=10"), 422, "invalid_body")
    with app.app_context():
        assert len(get_storage().list_multipart_uploads("originals/")) == before
    assert api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").status_code == 200


def test_content_that_contradicts_the_declared_kind_is_refused_and_deleted(app, api, exhibitor, pavilion):
    from expo.extensions import db
    from media.models import Media, Upload
    from media.storage import get_storage

    data = samples.jpeg(300, 200)
    body = started(api, exhibitor, pavilion, data, kind="video")
    assert len(body["parts"]) == 1
    put(body["parts"][0]["url"], data)
    answer = complete(api, exhibitor, body["id"])
    assert_error(answer, 415, "kind_mismatch")
    assert "declared as video but its content is image" in answer.get_json()["error"]["message"]
    with app.app_context():
        upload = db.session.get(Upload, body["id"])
        assert upload.state == "aborted"
        assert not get_storage().exists(upload.key)
        assert db.session.get(Media, body["media_id"]) is None
    assert api(exhibitor).get(f"/api/v1/uploads/{body['id']}").get_json()["state"] == "aborted"
    assert_error(complete(api, exhibitor, body["id"]), 409, "upload_aborted")
    html = b"<html><script>alert(1)</script></html>"
    other = started(api, exhibitor, pavilion, html)
    put(other["parts"][0]["url"], html)
    assert_error(complete(api, exhibitor, other["id"]), 415, "unknown_type")


def test_only_the_owner_reaches_an_upload(app, api, make_user, exhibitor, pavilion):
    data = samples.jpeg(200, 100)
    body = started(api, exhibitor, pavilion, data)
    stranger = make_user("exhibitor")
    base = f"/api/v1/uploads/{body['id']}"
    assert_error(api(stranger).get(base), 404, "upload_not_found")
    assert_error(complete(api, stranger, body["id"]), 404, "upload_not_found")
    assert_error(delete(api, stranger, base), 404, "upload_not_found")
    assert_error(start(api, stranger, pavilion, data), 404, "pavilion_not_found")
    browser = app.test_client()
    login(browser, stranger)
    token = csrf_from(browser.get("/studio/").get_data(as_text=True))
    web = f"/studio/pavilions/{pavilion['id']}/uploads"
    assert_error(browser.get(f"{web}/{body['id']}"), 404, "upload_not_found")
    assert_error(browser.post(f"{web}/{body['id']}/complete", json={}, headers={"X-CSRFToken": token}), 404)
    assert_error(browser.delete(f"{web}/{body['id']}", headers={"X-CSRFToken": token}), 404)
    assert_error(browser.post(web, json={"size": 10}, headers={"X-CSRFToken": token}), 404, "pavilion_not_found")
    assert browser.get(f"/studio/pavilions/{pavilion['id']}/upload").status_code == 404
    assert_error(start(api, make_user("visitor"), pavilion, data), 403)
    assert_error(start(api, None, pavilion, data), 401)
    assert api(exhibitor).get(base).get_json()["state"] == "open"


def test_delete_aborts_the_upload_in_the_store(app, api, exhibitor, pavilion):
    from expo.extensions import db
    from media.models import Upload
    from media.storage import ObjectMissing, get_storage

    data = samples.jpeg(200, 100)
    body = started(api, exhibitor, pavilion, data)
    answer = delete(api, exhibitor, f"/api/v1/uploads/{body['id']}")
    assert answer.status_code == 204 and answer.data == b""
    state = api(exhibitor).get(f"/api/v1/uploads/{body['id']}").get_json()
    assert state["state"] == "aborted" and state["parts_stored"] == [] and state["parts"] == []
    with app.app_context():
        upload = db.session.get(Upload, body["id"])
        with pytest.raises(ObjectMissing):
            get_storage().list_parts(upload.key, upload.s3_upload_id)
    with pytest.raises(urllib.error.HTTPError) as refused:
        put(body["parts"][0]["url"], data)
    refused.value.close()
    assert refused.value.code == 404
    assert_error(complete(api, exhibitor, body["id"]), 409, "upload_aborted")
    assert delete(api, exhibitor, f"/api/v1/uploads/{body['id']}").status_code == 204


def test_expire_stale_aborts_old_uploads_and_row_less_ones(app, api, exhibitor, pavilion):
    from expo.extensions import db, new_id, utcnow
    from media import keys, multipart
    from media.models import Upload
    from media.storage import get_storage

    body = started(api, exhibitor, pavilion, samples.jpeg(200, 100))
    with app.app_context():
        storage = get_storage()
        orphan_key = keys.original(new_id())
        orphan = storage.create_multipart_upload(orphan_key)
        assert multipart.expire_stale(utcnow()) == 0
        db.session.commit()
        assert db.session.get(Upload, body["id"]).state == "open"
        count = multipart.expire_stale(utcnow() + timedelta(days=3))
        db.session.commit()
        assert count >= 2
        upload = db.session.get(Upload, body["id"])
        assert upload.state == "aborted"
        still = {upload_id for _key, upload_id, _at in storage.list_multipart_uploads("originals/")}
        assert orphan not in still and upload.s3_upload_id not in still
    assert api(exhibitor).get(f"/api/v1/uploads/{body['id']}").get_json()["state"] == "aborted"


def test_studio_endpoints_need_the_csrf_header(app, client, stack, exhibitor, pavilion):
    login(client, exhibitor)
    page = client.get(f"/studio/pavilions/{pavilion['id']}/upload")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = csrf_from(html)
    assert 'src="/static/js/upload.js?v=' in html and "<progress" in html and 'aria-live="polite"' in html
    assert "<script>" not in html
    store = urlsplit(stack.env["EXPO_S3_ENDPOINT"])
    assert f"connect-src 'self' {store.scheme}://{store.netloc}" in page.headers["Content-Security-Policy"]
    base = f"/studio/pavilions/{pavilion['id']}/uploads"
    data = samples.jpeg(320, 240)
    body = {"pavilion_id": pavilion["id"], "filename": "card.jpg", "size": len(data), "kind": "image"}
    assert_error(client.post(base, json=body), 400, "csrf_failed")
    answer = client.post(base, json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 201, answer.get_json()
    upload = answer.get_json()
    put(upload["parts"][0]["url"], data)
    state = client.get(f"{base}/{upload['id']}").get_json()
    assert [p["number"] for p in state["parts_stored"]] == [1]
    assert_error(client.post(f"{base}/{upload['id']}/complete", json={}), 400, "csrf_failed")
    done = client.post(f"{base}/{upload['id']}/complete", json={}, headers={"X-CSRFToken": token})
    assert done.status_code == 202 and done.get_json()["id"] == upload["media_id"]
    assert client.get(f"/studio/media/{upload['media_id']}/status").get_json()["kind"] == "image"
    other = client.post(base, json=body, headers={"X-CSRFToken": token}).get_json()
    assert_error(client.delete(f"{base}/{other['id']}"), 400, "csrf_failed")
    assert client.delete(f"{base}/{other['id']}", headers={"X-CSRFToken": token}).status_code == 204
    form = {"file": (io.BytesIO(data), "card.jpg"), "kind": "image"}
    assert_error(client.post(f"{base}/whole", data=form, content_type="multipart/form-data"), 400, "csrf_failed")
    form = {"file": (io.BytesIO(data), "card.jpg"), "kind": "panorama"}
    whole = client.post(f"{base}/whole", data=form, content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert whole.status_code == 202 and whole.get_json()["kind"] == "panorama"
    refused = client.post(f"{base}/whole", data={"file": (io.BytesIO(data), "card.jpg"), "kind": "video"},
                          content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert_error(refused, 415, "kind_mismatch")


def test_part_urls_are_signed_for_the_public_endpoint(app, api, stack, exhibitor, pavilion):
    """Browsers may reach the store under another name than the app does; the URLs must be signed for that name."""
    internal = urlsplit(stack.env["EXPO_S3_ENDPOINT"])
    public = f"http://localhost:{internal.port}"
    app.config["EXPO_S3_PUBLIC_ENDPOINT"] = public
    app.extensions.pop("expo_presigner", None)
    try:
        data = samples.jpeg(200, 100)
        body = started(api, exhibitor, pavilion, data)
        assert body["parts"][0]["url"].startswith(f"{public}/")
        put(body["parts"][0]["url"], data)
    finally:
        app.config["EXPO_S3_PUBLIC_ENDPOINT"] = stack.env["EXPO_S3_ENDPOINT"]
        app.extensions.pop("expo_presigner", None)
    assert complete(api, exhibitor, body["id"]).status_code == 202
