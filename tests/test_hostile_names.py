"""Hostile uploads, file names: traversal, NUL, CR/LF, right-to-left override, 5,000 characters, reserved names.

Through the API, the studio's form and direct uploads, none reaches a key, a path, a header or a page unescaped.
"""
import io
import sys
import unicodedata
import urllib.request
from contextlib import contextmanager

import pytest
from markupsafe import escape

from expo.extensions import db
from media import keys
from media.models import Media, Upload
from media.services import display_name
from tests import hostile_files, samples
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import create

pytestmark = pytest.mark.files

NAMES = hostile_files.HOSTILE_NAMES
FRAGMENTS = hostile_files.NAME_FRAGMENTS
_RECORDERS = []
# What the interpreter reports before it touches the filesystem or starts a program (PEP 578 audit events).
_FILE_EVENTS = {"open", "os.rename", "os.replace", "os.mkdir", "os.remove", "os.rmdir", "os.link", "os.symlink",
                "os.chmod", "os.listdir", "os.scandir", "os.truncate", "shutil.copyfile", "shutil.move",
                "shutil.rmtree", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.system"}


def _audit(event, args):
    if _RECORDERS and event in _FILE_EVENTS:
        _RECORDERS[-1].append(f"{event} {args!r}")


sys.addaudithook(_audit)  # hooks cannot be removed; this one records only inside `recording()`


@contextmanager
def recording():
    """Collect every filesystem and process event of this process (the web app, and processing run here)."""
    seen = []
    _RECORDERS.append(seen)
    try:
        yield seen
    finally:
        _RECORDERS.remove(seen)


def spare_the_worker(app, pavilion_id):
    """Settle the items these tests uploaded only for their names, so the shared worker skips their jobs."""
    from media import processing

    with app.app_context():
        for media_id in db.session.scalars(db.select(Media.id).where(Media.pavilion_id == pavilion_id)):
            processing.fail(media_id, "test_only", "Uploaded by a test for its name only.")
        db.session.commit()


def browser_encoded(name):
    """The name as a browser writes it into a multipart header (WHATWG: CR, LF and quote percent-encoded)."""
    return name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def assert_no_fragment(text, where):
    found = [fragment for fragment in FRAGMENTS if fragment in text]
    assert not found, f"{where} holds {found}: {text[:300]!r}"


def assert_clean_answer(answer, where):
    """No header carries a raw CR/LF or a piece of a name; the body names none of them either."""
    for header, value in answer.headers.items():
        assert "\r" not in value and "\n" not in value, (where, header)
        assert_no_fragment(f"{header}: {value}", f"{where}: header")
    assert not answer.headers.get("Content-Disposition", "").count("filename"), where
    assert not any("hxcrlf" in c for c in answer.headers.getlist("Set-Cookie")), where
    if answer.mimetype == "application/json":
        assert_no_fragment(answer.get_data(as_text=True), f"{where}: body")


def assert_shown_safely(label):
    """A stored label: no control, format or separator characters but the space, no folder, at most 120 long."""
    assert label and len(label) <= 120, label
    assert all(unicodedata.category(ch)[0] not in "CZ" or ch == " " for ch in label), repr(label)
    assert "/" not in label and "\\" not in label and not label.startswith("."), repr(label)


def test_display_name_keeps_a_harmless_label_of_every_hostile_name():
    labels = {what: display_name(name) for what, name in NAMES.items()}
    for what, label in labels.items():
        assert_shown_safely(label)
        assert hostile_files.RTL_OVERRIDE not in label and "\x00" not in label, what
    assert labels["traversal"] == "passwd.jpg" and labels["windows_traversal"] == "win.ini.jpg"
    assert labels["fullwidth_slash"] == "shadow.jpg"  # NFKC turns the fullwidth solidus into a folder separator
    assert labels["rtl"] == "photogpj.exe" and labels["rtl_image"] == "holidaygnp.jpg"  # read as written
    assert labels["long"] == "A" * 120 and labels["htaccess"] == "htaccess"
    assert labels["crlf"] == "photo.jpgSet-Cookie: hxcrlf=1X-Injected: hxcrlf"
    assert labels["quotes_script"] == NAMES["quotes_script"]  # kept as written: escaping is each page's job
    assert display_name("") == display_name(None) == display_name("../..") == "upload"


def _api_upload(client, user, pavilion, name):
    body, form_type = hostile_files.multipart({"pavilion_id": pavilion["id"]}, name, samples.jpeg(40, 30))
    return client.post("/api/v1/media", data=body, content_type=form_type,
                       headers={"Authorization": f"Bearer {user.token}"})


def _studio_upload(client, pavilion, token, name):
    body, form_type = hostile_files.multipart({"csrf_token": token}, name, samples.jpeg(40, 30))
    return client.post(f"/studio/pavilions/{pavilion['id']}/media", data=body, content_type=form_type)


def _direct_upload(api, user, pavilion, name):
    data = samples.jpeg(40, 30)
    start = api(user).post("/api/v1/uploads", json={"pavilion_id": pavilion["id"], "filename": name,
                                                    "size": len(data)})
    assert start.status_code == 201, start.get_json()
    body = start.get_json()
    request = urllib.request.Request(body["parts"][0]["url"], data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as answer:
        etag = answer.headers["ETag"]
    done = api(user).post(f"/api/v1/uploads/{body['id']}/complete", json={"parts": [{"number": 1, "etag": etag}]})
    return start, done


def test_hostile_names_reach_no_key_path_or_header_on_any_upload_route(app, api, client, exhibitor):
    from media.storage import get_storage

    pavilion = create(api, exhibitor, name="Hostile names")
    api_client = app.test_client()  # the bearer-token calls, apart from the browser session below
    login(client, exhibitor)
    token = csrf_from(client.get(f"/studio/pavilions/{pavilion['id']}/upload").get_data(as_text=True))
    answers = []
    with recording() as events:
        for what, name in NAMES.items():
            for sent in {name, browser_encoded(name)}:
                answers.append((f"api {what}", _api_upload(api_client, exhibitor, pavilion, sent)))
                answers.append((f"studio {what}", _studio_upload(client, pavilion, token, sent)))
            answers += [(f"direct {what}", answer) for answer in _direct_upload(api, exhibitor, pavilion, name)]
    for where, answer in answers:
        assert answer.status_code in (201, 202, 302, 422), (where, answer.status_code)
        assert_clean_answer(answer, where)
        if answer.status_code == 422:  # only a raw CR/LF, which breaks the part's header, is refused
            assert "crlf" in where and answer.get_json()["error"]["code"] == "file_required", where
    for event in events:
        assert_no_fragment(event, "a filesystem or process event of the web app")
    with app.app_context():
        media = db.session.scalars(db.select(Media).where(Media.pavilion_id == pavilion["id"])).all()
        uploads = db.session.scalars(db.select(Upload).where(Upload.pavilion_id == pavilion["id"])).all()
        sends = sum(len({name, browser_encoded(name)}) for name in NAMES.values())
        assert len(media) == 2 * sends + len(NAMES) - 2, len(media)  # all but the raw CR/LF on the two form routes
        storage = get_storage()
        for item in media:
            assert item.original_key == keys.original(item.id) == f"originals/{item.id}/source"
            stored = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"originals/{item.id}/")
            assert [entry["Key"] for entry in stored.get("Contents", [])] == [item.original_key]
            assert_no_fragment(item.original_key, "an object key")
            assert_shown_safely(item.filename)
        for upload in uploads:
            assert upload.key == keys.original(upload.media_id)
        assert {u.filename for u in uploads} == {display_name(n) for n in NAMES.values()}
    spare_the_worker(app, pavilion["id"])


def test_processing_builds_no_path_or_command_from_the_name(app, exhibitor, tmp_path):
    from expo.models import User
    from media import processing, services
    from media.states import MediaStatus
    from tests import av_samples

    sources = {NAMES["traversal"]: samples.jpeg(64, 48), NAMES["long"]: samples.png(40, 30),
               NAMES["quotes_script"]: av_samples.mp3(tmp_path / "tone.mp3", seconds=1).read_bytes()}
    # Ingested and processed here rather than by the worker, so that this process sees every path and command.
    with app.app_context(), recording() as events:
        user = db.session.get(User, exhibitor.id)
        ids = []
        for name, data in sources.items():
            ids.append(services.ingest(io.BytesIO(data), name, user, "names-processing").id)
            db.session.commit()
        for media_id in ids:
            media, attempt = processing.begin_run(media_id)
            db.session.commit()
            with processing.Heartbeat(media_id) as heartbeat:
                processing.run(media, attempt, heartbeat)
            db.session.commit()
            assert media.status == MediaStatus.READY, media.error
            for rendition in media.renditions.values():
                assert rendition["key"].startswith(keys.run_prefix(media.id, media.run_id))
                assert_no_fragment(rendition["key"], "a rendition key")
    assert any(event.startswith("subprocess.Popen") for event in events), "ffmpeg ran in this process"
    for event in events:
        assert_no_fragment(event, "a filesystem or process event of processing")


def test_studio_pages_show_every_name_escaped_and_without_direction_tricks(app, api, client, exhibitor):
    pavilion = create(api, exhibitor, name="Names shown")
    sent = [browser_encoded(name) for name in NAMES.values()]
    for name in sent:
        assert _api_upload(client, exhibitor, pavilion, name).status_code == 202, name
    login(client, exhibitor)
    for url in (f"/studio/pavilions/{pavilion['id']}", f"/studio/pavilions/{pavilion['id']}/upload", "/studio/"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert_clean_answer(answer, url)
        html = answer.get_data(as_text=True)
        assert "<script>alert('hxname')" not in html and "hxcrlf=1\n" not in html, url
        assert hostile_files.RTL_OVERRIDE not in html and "\x00" not in html and "A" * 121 not in html, url
    html = client.get(f"/studio/pavilions/{pavilion['id']}").get_data(as_text=True)
    for name in NAMES.values():  # the form parser decodes a browser's %22 (not %0D%0A): either label will do
        assert any(str(escape(display_name(form))) in html for form in (name, browser_encoded(name))), name
    assert "a&#34;b&#39;c&lt;script&gt;alert(&#39;hxname&#39;)&lt;img src=x onerror=alert(&#39;hxname&#39;)&gt;.jpg" \
        in html
    spare_the_worker(app, pavilion["id"])


def test_the_curators_works_page_shows_uploaded_names_escaped(client, curator):
    login(client, curator)
    token = csrf_from(client.get("/review/works").get_data(as_text=True))
    for what in ("quotes_script", "rtl", "long", "nul"):
        body, form_type = hostile_files.multipart({"csrf_token": token}, browser_encoded(NAMES[what]),
                                                  samples.jpeg(40, 30))
        answer = client.post("/review/works/media", data=body, content_type=form_type)
        assert answer.status_code == 302, what
        assert_clean_answer(answer, what)
    html = client.get("/review/works").get_data(as_text=True)
    assert "a&#34;b&#39;c&lt;script&gt;alert(&#39;hxname&#39;)&lt;img" in html
    assert "<script>alert('hxname')" not in html and hostile_files.RTL_OVERRIDE not in html and "\x00" not in html
    assert "photogpj.exe" in html and "A" * 120 in html and "A" * 121 not in html
