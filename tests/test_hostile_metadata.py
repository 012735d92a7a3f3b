"""Hostile uploads, metadata: EXIF, XMP, ICC, PNG text, ID3 and MP4 tags carrying GPS, personal data or script.

None of it survives into a rendition (raw bytes, and decoded with Pillow and PyAV) or into a page or API answer.
"""
import io
import json

import av
import pytest
from PIL import Image

from media import images
from tests import hostile_files
from tests.conftest import login
from tests.test_api_pavilions import create, publish
from tests.test_hostile_types import queued, served

pytestmark = pytest.mark.files

PERSONAL = ("Jane Doe", "jane@example.org", hostile_files.GPS_TEXT, "31.2304", "121.4737", *hostile_files.XMP_GPS,
            "GPSLatitude", "ns.adobe.com", "xpacket")
IMAGE_INFO = ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Author", "Comment", "Source",
              "Description")
CONTAINERS = {"video/mp4", "video/iso.segment", "audio/mp4", "audio/webm", "audio/ogg"}


def secrets_in(data, marks):
    """Return the markers and personal strings found in DATA, as UTF-8, UTF-16 (ICC, ID3) or Latin-1 text."""
    found = []
    for text in (*marks.values(), *PERSONAL):
        if any(text.encode(codec) in data for codec in ("utf-8", "utf-16-be", "utf-16-le")):
            found.append(text)
    return found


def assert_clean_image(data, marks, where):
    """No marker in the bytes, and nothing of the metadata kinds left when Pillow decodes it."""
    assert not secrets_in(data, marks), (where, secrets_in(data, marks))
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert not image.getexif(), f"{where} kept EXIF"
        # Posters and storyboards are written bitexact: not even ffmpeg's own "Lavc…" version comment is left.
        kept = [key for key in IMAGE_INFO if key in image.info]
        assert not kept, f"{where} kept {kept}"
        assert not getattr(image, "text", None), f"{where} kept text chunks"
        assert not secrets_in(json.dumps(image.info, default=repr).encode(), marks), where


def tags_of(data):
    """Return every tag value PyAV reads from a container, its streams included."""
    with av.open(io.BytesIO(data)) as container:
        values = list(container.metadata.values())
        for stream in container.streams:
            values += list(stream.metadata.values())
        assert all(stream.type in ("audio", "video") for stream in container.streams)
        return values


def assert_clean_container(data, marks, where):
    assert not secrets_in(data, marks), (where, secrets_in(data, marks))
    # A position also travels in binary: QuickTime's ©xyz and 3GPP's loci boxes.
    assert b"\xa9xyz" not in data and b"loci" not in data, f"{where} keeps a location box"
    tags = tags_of(data)
    assert not secrets_in("\n".join(tags).encode(), marks), (where, tags)


TAGGED_IMAGES = {"jpeg": hostile_files.jpeg_tagged, "png": hostile_files.png_tagged,
                 "webp": hostile_files.webp_tagged, "gif": hostile_files.gif_tagged}


def test_every_image_format_loses_its_metadata_in_every_rendition(tmp_path):
    for fmt, make in TAGGED_IMAGES.items():
        marks = hostile_files.metadata_marks()
        source, out = tmp_path / f"{fmt}.src", tmp_path / fmt
        source.write_bytes(make(marks))
        out.mkdir()
        assert secrets_in(source.read_bytes(), marks), f"the {fmt} sample carries no markers"
        meta, files = images.render(source, out, 50_000_000)
        assert files and meta["format"] == fmt
        assert not secrets_in(json.dumps(meta).encode(), marks), meta
        for name, path, *_rest in files:
            assert_clean_image(path.read_bytes(), marks, f"{fmt} -> {name}")


def test_a_panorama_loses_its_xmp_exif_comment_and_icc(tmp_path):
    for icc in (True, False):  # with a profile, the colour conversion makes a new picture; without, it must not matter
        marks = hostile_files.metadata_marks()
        source, out = tmp_path / f"pano-{icc}.jpg", tmp_path / f"out-{icc}"
        source.write_bytes(hostile_files.panorama_tagged(marks, icc))
        out.mkdir()
        meta, files = images.render_panorama(source, out, 50_000_000)
        assert {name for name, *_rest in files} == {"base.jpg", "preview.jpg"}
        assert not secrets_in(json.dumps(meta).encode(), marks)
        for name, path, *_rest in files:
            assert_clean_image(path.read_bytes(), marks, f"{name} (ICC: {icc})")


def stored_objects(app, media_id):
    """Return {key: (bytes, content type)} of every object a processing run of MEDIA_ID wrote."""
    from media.storage import get_storage

    with app.app_context():
        storage = get_storage()
        listing = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"media/{media_id}/")
        objects = {}
        for item in listing.get("Contents", []):
            chunks, headers, _status = storage.get(item["Key"])
            objects[item["Key"]] = (b"".join(chunks), headers["Content-Type"])
        return objects


def assert_clean_objects(objects, marks):
    """Scan every stored object's bytes, and decode the pictures with Pillow and the containers with PyAV."""
    inits = {key.rsplit("/", 1)[0]: data for key, (data, _t) in objects.items()
             if key.rsplit("/", 1)[-1].startswith("init")}  # hlsenc's fMP4 init segment, one per rung
    for key, (data, content_type) in objects.items():
        if content_type.startswith("image/"):
            assert_clean_image(data, marks, key)
        elif content_type in CONTAINERS:
            init = inits.get(key.rsplit("/", 1)[0], b"") if key.endswith(".m4s") else b""
            assert_clean_container(init + data, marks, key)
        else:
            assert not secrets_in(data, marks), (key, secrets_in(data, marks))


def test_tags_never_reach_a_stored_or_served_file_a_page_or_an_api_answer(app, api, client, exhibitor, curator,
                                                                           worker, tmp_path):
    pavilion = create(api, exhibitor, name="Metadata booth")
    marks = hostile_files.av_marks()
    sources = {
        "image": (hostile_files.jpeg_tagged(marks), "IMG_0001.jpg", None),
        "panorama": (hostile_files.panorama_tagged(marks), "pano.jpg", "panorama"),
        "audio": (hostile_files.mp3_tagged(tmp_path / "a.mp3", marks, tmp_path).read_bytes(), "talk.mp3", None),
        "video": (hostile_files.mp4_tagged(tmp_path / "v.mp4", marks).read_bytes(), "clip.mp4", None),
    }
    for kind, (data, _name, _kind) in sources.items():  # the scans below do find what the uploads carry
        assert len(secrets_in(data, marks)) >= 3, kind
    assert hostile_files.GPS_TEXT in tags_of(sources["video"][0]) and marks["title"] in tags_of(sources["video"][0])
    assert marks["comment"] in "".join(tags_of(sources["audio"][0]))
    uploads = {kind: queued(api, exhibitor, pavilion, data, name, kind=declared)
               for kind, (data, name, declared) in sources.items()}
    done = {kind: api(exhibitor).wait_media(body["id"], timeout=120) for kind, body in uploads.items()}
    for kind, media in done.items():
        assert media["status"] == "ready", (kind, media)
    publish(api, exhibitor, curator, pavilion, [
        {"kind": "image", "media": [done["image"]["id"]], "alt": "A stand"},
        {"kind": "panorama", "media": done["panorama"]["id"]},
        {"kind": "audio", "media": done["audio"]["id"], "title": "Talk"},
        {"kind": "video", "media": done["video"]["id"]}])
    for kind, media in done.items():
        objects = stored_objects(app, media["id"])
        assert len(objects) >= len(media["renditions"]), kind
        assert_clean_objects(objects, marks)
        files = served(client, media)  # anonymous, after publication; every playlist followed
        assert_clean_objects({url: (answer.data, answer.mimetype) for url, answer in files.items()}, marks)
        status = api(exhibitor).get(f"/api/v1/media/{media['id']}")
        assert status.status_code == 200 and not secrets_in(status.data, marks), status.get_json()
    answers = [client.get(f"/pavilions/{pavilion['slug']}"), api().get(f"/api/v1/pavilions/{pavilion['slug']}"),
               api().get("/api/v1/pavilions"), api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft")]
    login(client, exhibitor)
    answers.append(client.get(f"/studio/pavilions/{pavilion['id']}"))
    for answer in answers:
        assert answer.status_code == 200, answer.request.path
        assert not secrets_in(answer.data, marks), (answer.request.path, secrets_in(answer.data, marks))
