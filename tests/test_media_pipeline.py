"""The image pipeline end to end: streamed upload, real worker, real store, renditions served."""
import io

import pytest
from PIL import Image

from media.images import OUTPUTS
from tests import samples
from tests.test_api_pavilions import assert_error, create

EXTS = [ext for ext, *_rest in OUTPUTS]


@pytest.fixture
def pavilion(api, exhibitor):
    return create(api, exhibitor)


def _ready(api, user, pavilion, data, **kw):
    answer = api(user).upload(pavilion["id"], data, **kw)
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "queued" and set(body) == {"id", "kind", "status"}
    return api(user).wait_media(body["id"])


def test_jpeg_is_oriented_stripped_and_rendered_in_every_width(api, client, exhibitor, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.jpeg(1400, 1000, orientation=6, gps=True),
                   filename="../../etc/passwd\u202e<script>gpj.jpg")
    assert media["status"] == "ready", media
    assert media["progress"] == 100 and media["error"] is None
    assert media["meta"]["width"] == 1000 and media["meta"]["height"] == 1400  # rotated by EXIF orientation 6
    names = set(media["renditions"])
    assert names == {f"w{w}.{ext}" for w in (320, 640, 960, 1000) for ext in EXTS}
    assert media["meta"]["placeholder"].startswith("data:image/webp;base64,")
    for name, url in media["renditions"].items():
        answer = api(exhibitor).get(url)
        assert answer.status_code == 200, name
        image = Image.open(io.BytesIO(answer.data))
        assert image.size[0] == int(name[1:].split(".")[0])
        assert image.size[1] > image.size[0]
        assert not image.getexif(), f"{name} kept EXIF"
        assert "exif" not in image.info and "xmp" not in image.info and "icc_profile" not in image.info
        assert b"SecretSoftware" not in answer.data and b"TestCam" not in answer.data
        assert answer.headers["Cache-Control"].startswith("private")


def test_small_images_are_never_upscaled(api, exhibitor, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.png(200, 100, alpha=True), filename="logo.png")
    assert media["status"] == "ready"
    assert set(media["renditions"]) == {f"w200.{ext}" for ext in EXTS}


def test_too_many_pixels_fails_with_a_reason(api, exhibitor, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.png_claiming(65000, 65000), filename="bomb.png")
    assert media["status"] == "failed"
    assert media["error"]["code"] == "image_too_large"
    assert "65000×65000" in media["error"]["message"] and "50 MP" in media["error"]["message"]
    assert media["renditions"] == {}


def test_truncated_image_fails_with_a_reason(api, exhibitor, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.truncated_jpeg())
    assert media["status"] == "failed"
    assert media["error"]["code"] in ("truncated_image", "unreadable_image")
    assert "export it again" in media["error"]["message"]


def test_panorama_must_be_two_to_one(api, exhibitor, pavilion, worker):
    bad = _ready(api, exhibitor, pavilion, samples.jpeg(1000, 700), kind="panorama")
    assert bad["status"] == "failed" and bad["error"]["code"] == "not_equirectangular"
    good = _ready(api, exhibitor, pavilion, samples.jpeg(2000, 1000, gps=True), kind="panorama")
    assert good["status"] == "ready" and set(good["renditions"]) == {"base", "preview"}
    assert good["kind"] == "panorama"


def test_kind_comes_from_content_not_name_or_declaration(api, exhibitor, pavilion):
    assert_error(api(exhibitor).upload(pavilion["id"], b"<html><script>alert(1)</script></html>",
                                       filename="photo.jpg"), 415, "unknown_type")
    assert_error(api(exhibitor).upload(pavilion["id"], samples.jpeg(50, 50), kind="video"), 415, "kind_mismatch")
    assert_error(api(exhibitor).upload(pavilion["id"], samples.jpeg(50, 50), kind="nonsense"), 415, "unknown_kind")
    zip_magic = b"PK\x03\x04" + b"\x00" * 64  # a zip is an H5 bundle, whatever its name (tests/test_h5.py)
    answer = api(exhibitor).upload(pavilion["id"], zip_magic, filename="a.png")
    assert answer.status_code == 202 and answer.get_json()["kind"] == "h5"


def test_too_large_upload_is_refused_and_nothing_is_kept(app, api, exhibitor, pavilion):
    from expo.extensions import db
    from media.models import Media

    app.config["EXPO_MAX_IMAGE_BYTES"] = 20_000
    try:
        answer = api(exhibitor).upload(pavilion["id"], samples.jpeg(1500, 1500, color=(1, 2, 3)) + b"\x00" * 30_000)
    finally:
        app.config["EXPO_MAX_IMAGE_BYTES"] = 50 * 1024 * 1024
    assert_error(answer, 413, "too_large")
    with app.app_context():
        assert db.session.scalars(db.select(Media).where(Media.pavilion_id == pavilion["id"])).all() == []


def test_missing_file_field_is_explained(api, exhibitor, pavilion):
    answer = api(exhibitor).client.post("/api/v1/media", data={"pavilion_id": pavilion["id"]},
                                        headers={"Authorization": f"Bearer {exhibitor.token}"})
    assert_error(answer, 422, "file_required")


def test_renditions_are_public_only_once_published(api, client, exhibitor, curator, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.jpeg(700, 500))
    url = media["renditions"]["w640.jpg"]
    assert client.get(url).status_code == 404  # anonymous, unpublished
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "image", "media": [media["id"]], "alt": "A red test card"}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert client.get(url).status_code == 404  # submitted is not published
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    partial = client.get(url, headers={"Range": "bytes=0-9"})
    assert partial.status_code == 206 and len(partial.data) == 10 and partial.data == answer.data[:10]
    assert partial.headers["Content-Range"].startswith("bytes 0-9/")
    published = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()
    block = published["blocks"][0]
    assert block["media"][0]["id"] == media["id"] and "w640.webp" in block["media"][0]["renditions"]
    page = client.get(f"/pavilions/{pavilion['slug']}").get_data(as_text=True)
    assert 'data-block-kind="image"' in page and "srcset=" in page and 'alt="A red test card"' in page


def test_wrong_run_or_name_is_not_found(api, client, exhibitor, pavilion, worker):
    media = _ready(api, exhibitor, pavilion, samples.jpeg(400, 300))
    url = media["renditions"]["w320.jpg"]
    assert api(exhibitor).get(url.replace("w320.jpg", "w321.jpg")).status_code == 404
    parts = url.split("/")
    parts[3] = "000000000000"
    assert api(exhibitor).get("/".join(parts)).status_code == 404


def test_submit_waits_for_media_to_be_ready(app, api, exhibitor, pavilion):
    from expo.extensions import db
    from media.models import Media

    media_id = api(exhibitor).upload(pavilion["id"], samples.jpeg(300, 200)).get_json()["id"]
    with app.app_context():  # no worker in this test: hold the item in "queued" deterministically
        db.session.get(Media, media_id).status = "queued"
        db.session.commit()
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "image", "media": [media_id]}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    assert_error(api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit"), 409, "media_not_ready")


def test_media_from_another_pavilion_cannot_be_placed(api, exhibitor, worker):
    first, second = create(api, exhibitor), create(api, exhibitor)
    media_id = api(exhibitor).upload(first["id"], samples.jpeg(300, 200)).get_json()["id"]
    draft = api(exhibitor).get(f"/api/v1/pavilions/{second['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "image", "media": [media_id]}]
    assert_error(api(exhibitor).put(f"/api/v1/pavilions/{second['id']}/draft", json=draft), 422, "unknown_media")


def test_each_attempt_is_recorded(app, api, exhibitor, pavilion, worker):
    from expo.extensions import db
    from media.models import Media

    media = _ready(api, exhibitor, pavilion, samples.jpeg(300, 200))
    with app.app_context():
        attempts = db.session.get(Media, media["id"]).attempts
        assert len(attempts) == 1 and attempts[0].outcome == "ready" and attempts[0].finished_at


def _raw_post(client, user, fields):
    """POST /api/v1/media with the multipart parts in exactly the given order."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({k: FileStorage(io.BytesIO(v), "x.jpg") if isinstance(v, bytes) else v
                                       for k, v in fields})
    return client.post("/api/v1/media", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       headers={"Authorization": f"Bearer {user.token}"})


def test_upload_streams_without_spooling_and_accepts_fields_after_the_file(app, api, client, exhibitor, pavilion,
                                                                          make_user, monkeypatch):
    import werkzeug.formparser

    from expo.extensions import db
    from media.models import Media

    def no_spooling(*_args, **_kwargs):
        raise AssertionError("the upload was parsed by werkzeug's spooling form parser")

    monkeypatch.setattr(werkzeug.formparser.MultiPartParser, "parse", no_spooling)
    answer = _raw_post(client, exhibitor, [("file", samples.jpeg(300, 200)), ("pavilion_id", pavilion["id"])])
    assert answer.status_code == 202, answer.get_json()
    other = create(api, make_user("exhibitor"))
    refused = _raw_post(client, exhibitor, [("file", samples.jpeg(300, 200)), ("pavilion_id", other["id"])])
    assert_error(refused, 404)
    with app.app_context():
        kept = db.session.scalars(db.select(Media).where(Media.owner_id == exhibitor.id)).all()
        assert [m.pavilion_id for m in kept] == [pavilion["id"]]


def test_editor_upload_needs_the_csrf_token(app, client, exhibitor, pavilion):
    from tests.conftest import login

    login(client, exhibitor)
    answer = client.post(f"/studio/pavilions/{pavilion['id']}/media", content_type="multipart/form-data",
                         data={"kind": "image", "file": (io.BytesIO(samples.jpeg(100, 100)), "a.jpg")})
    assert answer.status_code == 400
