"""Hostile uploads, type confusion: markup named as media, polyglots, lying declared types, captions with script.

Whatever an exhibitor uploads is refused with a reason or re-encoded, and the site's origin serves none of it with a
type a browser would run.
"""
import io
import re
import urllib.request

import pytest
from PIL import Image

from expo.extensions import db
from media import captions
from media.models import Media
from tests import hostile_files, samples
from tests.test_api_pavilions import assert_error, create, publish

pytestmark = pytest.mark.files

# Content types a browser only shows or plays (the site's allow-list, restated so that a change there is seen here).
SAFE_TYPES = {"image/jpeg", "image/webp", "image/avif", "video/mp4", "video/iso.segment", "audio/mp4", "audio/webm",
              "audio/ogg", "application/vnd.apple.mpegurl", "text/vtt", "application/json"}
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/webp": b"RIFF", "image/avif": b"\x00\x00\x00"}
MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|img|body)|javascript:|onerror|onload", re.IGNORECASE)


@pytest.fixture
def pavilion(api, exhibitor):
    return create(api, exhibitor, name="Hostile types")


def upload(api, user, pavilion, data, filename, kind=None, content_type="application/octet-stream"):
    """POST /api/v1/media with a hand-made multipart body (the file part's Content-Type as given)."""
    fields = {"pavilion_id": pavilion["id"], **({"kind": kind} if kind else {})}
    body, form_type = hostile_files.multipart(fields, filename, data, content_type)
    return api(user).client.post("/api/v1/media", data=body, content_type=form_type,
                                 headers={"Authorization": f"Bearer {user.token}"})


def queued(api, user, pavilion, data, filename, **kw):
    answer = upload(api, user, pavilion, data, filename, **kw)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    return answer.get_json()


def assert_inert(answer, url):
    """A file of an upload on the site's origin: a type no browser runs, no sniffing, a sandbox if opened alone."""
    assert answer.mimetype in SAFE_TYPES, f"{url} is served as {answer.mimetype}"
    assert answer.headers["X-Content-Type-Options"] == "nosniff", url
    policy = answer.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy, url


def served(client, media, headers=None):
    """Fetch every file a browser can reach from MEDIA's renditions, playlists followed; return {url: answer}."""
    found, todo = {}, list(media["renditions"].values())
    while todo:
        url = todo.pop()
        if url in found:
            continue
        answer = client.get(url, headers=headers or {})
        assert answer.status_code == 200, (url, answer.status_code)
        assert_inert(answer, url)
        found[url] = answer
        if url.endswith(".m3u8"):
            base = url.rsplit("/", 1)[0]
            todo += [f"{base}/{line}" for line in answer.get_data(as_text=True).splitlines()
                     if line and not line.startswith("#")]
            todo += [f"{base}/{uri}" for uri in re.findall(r'URI="([^"]+)"', answer.get_data(as_text=True))]
    return found


def assert_originals_unreachable(client, media_id, run_id, headers=None):
    """The uploaded original (the hostile bytes as sent) is never served, by name or by traversal."""
    for name in ("source", "upload.bin", "..%2F..%2F..%2Foriginals%2F" + media_id + "%2Fsource",
                 f"../../../originals/{media_id}/source", f"%2e%2e/%2e%2e/%2e%2e/originals/{media_id}/source",
                 f"..%5C..%5C..%5Coriginals%5C{media_id}%5Csource"):
        answer = client.get(f"/media/{media_id}/{run_id}/{name}", headers=headers or {})
        assert answer.status_code == 404, (name, answer.status_code)
    assert client.get(f"/media/{media_id}/originals/source").status_code == 404
    assert client.get(f"/originals/{media_id}/source").status_code == 404


MARKUP_UPLOADS = [  # (what, bytes maker, file name, declared kind)
    ("html as jpg", hostile_files.html_page, "photo.jpg", None),
    ("html as png, declared image", hostile_files.html_page, "photo.png", "image"),
    ("html as svg", hostile_files.html_page, "logo.svg", None),
    ("svg with script", hostile_files.svg_script, "logo.svg", None),
    ("svg with script as jpg, declared panorama", hostile_files.svg_script, "room.jpg", "panorama"),
    ("svg with script as png", hostile_files.svg_script, "logo.png", "image"),
    ("html as mp4, declared video", hostile_files.html_page, "talk.mp4", "video"),
    ("html as mp3, declared audio", hostile_files.html_page, "talk.mp3", "audio"),
    ("html as vtt, declared captions", hostile_files.html_page, "talk.vtt", "captions"),
    ("html as zip, declared h5", hostile_files.html_page, "game.zip", "h5"),
]


def test_markup_under_a_media_name_is_refused_before_anything_is_stored(app, api, exhibitor, pavilion):
    mark = hostile_files.marker("typ")
    for what, make, filename, kind in MARKUP_UPLOADS:
        answer = upload(api, exhibitor, pavilion, make(mark), filename, kind=kind, content_type="image/jpeg")
        assert_error(answer, 415, "unknown_type")
        message = answer.get_json()["error"]["message"]
        assert "JPEG" in message and "MP4" in message and mark not in message, what
    with app.app_context():
        assert db.session.scalars(db.select(Media).where(Media.pavilion_id == pavilion["id"])).all() == []


def test_markup_in_a_direct_upload_is_refused_and_deleted(app, api, exhibitor, pavilion):
    from media.storage import get_storage

    data = hostile_files.svg_script(hostile_files.marker("dir"))
    start = api(exhibitor).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": "logo.jpg",
                                                         "size": len(data), "kind": "image"})
    assert start.status_code == 201, start.get_json()
    body = start.get_json()
    request = urllib.request.Request(body["parts"][0]["url"], data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as answer:
        etag = answer.headers["ETag"]
    done = api(exhibitor).post(f"/api/v1/uploads/{body['id']}/complete",
                               json={"parts": [{"number": 1, "etag": etag}]})
    assert_error(done, 415, "unknown_type")
    with app.app_context():
        assert not get_storage().exists(f"originals/{body['media_id']}/source")
        assert db.session.get(Media, body["media_id"]) is None


def test_declared_types_that_lie_are_refused_or_overruled_by_the_content(app, api, exhibitor, pavilion, tmp_path):
    mp3 = samples_mp3(tmp_path)
    lies = [  # (bytes, file name, declared kind): content of one kind declared as another
        (mp3, "photo.jpg", "image"),
        (samples.jpeg(64, 48), "talk.mp4", "video"),
        (samples.jpeg(64, 48), "talk.mp3", "audio"),
        (samples.jpeg(64, 48), "talk.vtt", "captions"),
        (samples.jpeg(64, 48), "game.zip", "h5"),
        (captions_srt(), "photo.jpg", "image"),
        (mp3, "room.jpg", "panorama"),
    ]
    for data, filename, kind in lies:
        answer = upload(api, exhibitor, pavilion, data, filename, kind=kind, content_type="image/jpeg")
        assert_error(answer, 415, "kind_mismatch")
        assert f"declared as {kind}" in answer.get_json()["error"]["message"]
    # The other way round: a real image sent as a page. Its type comes from its bytes; the page's type is ignored.
    body = queued(api, exhibitor, pavilion, samples.jpeg(64, 48), "index.html", content_type="text/html")
    assert body["kind"] == "image"
    with app.app_context():
        media = db.session.get(Media, body["id"])
        assert media.meta["source_format"] == "jpeg" and media.original_key == f"originals/{body['id']}/source"


def samples_mp3(tmp_path):
    from tests import av_samples

    return av_samples.mp3(tmp_path / "tone.mp3", seconds=1).read_bytes()


def captions_srt():
    return b"1\n00:00:00,000 --> 00:00:01,000\nHello\n"


def test_media_magic_followed_by_markup_fails_with_a_reason(api, exhibitor, pavilion, worker):
    mark = hostile_files.marker("mag")
    ids = {fmt: queued(api, exhibitor, pavilion, hostile_files.magic_then_html(magic, mark), f"x.{fmt}")["id"]
           for fmt, magic in hostile_files.MAGICS.items()}
    for fmt, media_id in ids.items():
        done = api(exhibitor).wait_media(media_id)
        assert done["status"] == "failed", (fmt, done)
        assert done["renditions"] == {} and done["error"]["message"].endswith("."), fmt
        assert mark not in str(done), fmt


def test_captions_keep_only_plain_text_cues():
    mark = hostile_files.marker("cap")
    for data in (hostile_files.srt_hostile(mark), hostile_files.vtt_hostile(mark)):
        vtt = captions.to_webvtt(data)
        assert vtt.startswith("WEBVTT\n\n") and "-->" in vtt
        assert "<" not in vtt and "javascript:" not in vtt and "::cue" not in vtt and "NOTE" not in vtt, vtt
        assert not MARKUP.search(vtt.encode()), vtt
    # Text that only looked like markup once decoded is shown as text, still escaped.
    assert "&lt;script&gt;" in captions.to_webvtt(hostile_files.srt_hostile(mark))


def test_polyglots_are_reencoded_and_every_served_file_is_inert(api, client, exhibitor, curator, pavilion, worker):
    mark = hostile_files.marker("poly")
    uploads = {
        "gif+js": queued(api, exhibitor, pavilion, hostile_files.gif_js_polyglot(mark), "x.gif",
                         content_type="application/javascript"),
        "jpeg+html": queued(api, exhibitor, pavilion, hostile_files.jpeg_html_polyglot(mark), "x.html",
                            content_type="text/html"),
        "png+html": queued(api, exhibitor, pavilion, hostile_files.png_html_polyglot(mark), "x.svg",
                           content_type="image/svg+xml"),
        "panorama jpeg+html": queued(api, exhibitor, pavilion,
                                     hostile_files.jpeg_html_polyglot(mark, (128, 64)), "pano.jpg", kind="panorama"),
        "captions with script": queued(api, exhibitor, pavilion, hostile_files.srt_hostile(mark), "subs.vtt",
                                       content_type="text/html"),
    }
    done = {what: api(exhibitor).wait_media(body["id"]) for what, body in uploads.items()}
    for what, media in done.items():
        assert media["status"] == "ready", (what, media)
    image_ids = [done[w]["id"] for w in ("gif+js", "jpeg+html", "png+html")]
    publish(api, exhibitor, curator, pavilion, [
        {"kind": "image", "media": image_ids, "alt": "Three pictures"},
        {"kind": "panorama", "media": done["panorama jpeg+html"]["id"]}])
    owner = {"Authorization": f"Bearer {exhibitor.token}"}
    for what, media in done.items():
        # Published media as anyone fetches them; the captions (no video to hang them on) as their owner.
        files = served(client, media, None if what != "captions with script" else owner)
        assert files, what
        for url, answer in files.items():
            assert mark.encode() not in answer.data or answer.mimetype == "text/vtt", url
            if answer.mimetype in MAGIC:
                assert answer.data.startswith(MAGIC[answer.mimetype]), url
                assert not MARKUP.search(answer.data), f"{url} ({what}) still carries markup"
                Image.open(io.BytesIO(answer.data)).verify()
            if answer.mimetype == "text/vtt":
                assert "<" not in answer.get_data(as_text=True), url
        url, first = next(iter(files.items()))
        again = client.get(url, headers={**(owner if what == "captions with script" else {}),
                                         "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and "Content-Disposition" not in again.headers, url
        assert again.headers["X-Content-Type-Options"] == "nosniff", url
        run_id = url.split("/")[3]
        assert_originals_unreachable(client, media["id"], run_id, owner)


def plant(app, owner, kind, objects, public=True):
    """Store OBJECTS ({name: (bytes, type)}) as a ready media item's run, as a buggy processing step might."""
    from expo.extensions import new_id
    from media import keys
    from media.states import MediaKind, MediaStatus
    from media.storage import get_storage

    with app.app_context():
        media_id, run_id = new_id(), "r" + new_id()[:10].replace("-", "x")
        renditions = {}
        for name, (data, content_type) in objects.items():
            key = keys.rendition(media_id, run_id, name)
            get_storage().put_stream(key, io.BytesIO(data), content_type)
            renditions[name] = {"key": key, "type": content_type}
        db.session.add(Media(id=media_id, owner_id=owner.id, pavilion_id="planted", kind=MediaKind(kind),
                             status=MediaStatus.READY, public=public, run_id=run_id, renditions=renditions,
                             original_key=keys.original(media_id), meta={}))
        db.session.commit()
        return media_id, run_id


RUNNABLE = ["text/html", "image/svg+xml", "application/javascript", "text/javascript", "text/xml",
            "application/xhtml+xml", "application/xml", "text/plain", "application/pdf", "multipart/x-mixed-replace"]


def test_the_site_origin_never_serves_a_runnable_type(app, client, exhibitor):
    mark = hostile_files.marker("srv")
    page = hostile_files.html_page(mark)
    media_id, run_id = plant(app, exhibitor, "image", {f"f{i}.x": (page, t) for i, t in enumerate(RUNNABLE)})
    for i, content_type in enumerate(RUNNABLE):
        for headers in ({}, {"Range": "bytes=0-20"}):
            answer = client.get(f"/media/{media_id}/{run_id}/f{i}.x", headers=headers)
            assert answer.status_code in (200, 206), content_type
            assert answer.mimetype == "application/octet-stream", f"{content_type} went out as {answer.mimetype}"
            assert answer.headers["Content-Disposition"] == "attachment"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in answer.headers["Content-Security-Policy"]
    # An H5 bundle is pages and scripts by design: only the sandbox origin serves it, never the site.
    bundle = {"index.html": (page, "text/html"), "app.js": (b"alert(1)", "text/javascript")}
    bundle_id, bundle_run = plant(app, exhibitor, "h5", bundle)
    for name in ("index.html", "app.js"):
        assert client.get(f"/media/{bundle_id}/{bundle_run}/{name}").status_code == 404


def test_the_studio_form_refuses_markup_with_a_reason_on_the_page(app, client, api, exhibitor, pavilion):
    from tests.conftest import csrf_from, login

    login(client, exhibitor)
    token = csrf_from(client.get(f"/studio/pavilions/{pavilion['id']}/upload").get_data(as_text=True))
    mark = hostile_files.marker("stu")
    for data, filename in ((hostile_files.svg_script(mark), "logo.svg"), (hostile_files.html_page(mark), "a.jpg")):
        body, form_type = hostile_files.multipart({"csrf_token": token, "kind": "image"}, filename, data, "image/jpeg")
        answer = client.post(f"/studio/pavilions/{pavilion['id']}/media", data=body, content_type=form_type,
                             follow_redirects=True)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "is not a kind of media this expo accepts" in html, filename
        assert mark not in html
    with app.app_context():
        assert db.session.scalars(db.select(Media).where(Media.pavilion_id == pavilion["id"])).all() == []
