"""H5 bundles: the zip validator against hostile archives, and serving from the sandbox origin only."""
import io
import os
import struct
import warnings
import zipfile
from urllib.parse import urlsplit

import pytest

from media import h5
from tests import samples
from tests.test_api_pavilions import create, put_draft

LIMITS = {"packed": 200 * 1024 * 1024, "unpacked": 500 * 1024 * 1024, "entries": 1000, "ratio": 100}
PAGE = b"<!doctype html><html><head><link rel=stylesheet href=css/style.css></head><body><h1>Promo</h1>" \
       b"<img src=img/logo.png alt=logo><script src=js/app.js></script></body></html>"


def build(entries, compression=zipfile.ZIP_DEFLATED):
    """Return the bytes of a zip of ENTRIES: (name or ZipInfo, data) pairs, duplicates allowed."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression) as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names the tests want
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def promo(script=b"document.body.dataset.ready = 'yes';", folder=""):
    """Return a real-looking promo bundle: page, stylesheet, script and image."""
    return build([(f"{folder}index.html", PAGE), (f"{folder}css/style.css", b"h1 { color: rgb(1, 2, 3); }"),
                  (f"{folder}js/app.js", script), (f"{folder}img/logo.png", samples.png(40, 20))])


def check(tmp_path, data, limits=LIMITS):
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return h5.validate_and_extract(source, out, limits)


def refused(tmp_path, data, code, entry=None, limits=LIMITS):
    with pytest.raises(h5.BundleRejected) as caught:
        check(tmp_path, data, limits)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message.endswith(".")
    if entry:
        assert f"'{entry}'" in caught.value.message
    return caught.value


def _info(name, mode):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def _patch_sizes(data, name, size):
    """Make both headers of NAME declare SIZE uncompressed bytes, as a lying archive does."""
    raw = bytearray(data)
    local = raw.index(b"PK\x03\x04")
    struct.pack_into("<L", raw, local + 22, size)
    central = raw.index(b"PK\x01\x02")  # a one-entry archive
    assert raw[central + 46:central + 46 + len(name)] == name.encode()
    struct.pack_into("<L", raw, central + 24, size)
    return bytes(raw)


def test_a_promo_bundle_is_accepted_with_types_set_by_the_project(tmp_path):
    meta, files = check(tmp_path, promo())
    assert meta == {"entries": 4, "unpacked_bytes": sum(os.path.getsize(p) for _n, p, _t in files),
                    "index": "index.html"}
    assert {name: kind for name, _p, kind in files} == {
        "index.html": "text/html; charset=utf-8", "css/style.css": "text/css; charset=utf-8",
        "js/app.js": "text/javascript; charset=utf-8", "img/logo.png": "image/png"}
    assert all(os.path.dirname(path) == str(tmp_path / "out") for _n, path, _t in files)  # names we chose


def test_index_in_a_single_top_folder_is_accepted_and_the_folder_stripped(tmp_path):
    _meta, files = check(tmp_path, promo(folder="promo/"))
    assert sorted(name for name, _p, _t in files) == ["css/style.css", "img/logo.png", "index.html", "js/app.js"]


def test_mac_clutter_is_left_out(tmp_path):
    data = build([("promo/index.html", PAGE), ("__MACOSX/promo/._index.html", b"x"), ("promo/.DS_Store", b"x")])
    _meta, files = check(tmp_path, data)
    assert [name for name, _p, _t in files] == ["index.html"]


@pytest.mark.parametrize("name,code", [
    ("a/../../x.js", "unsafe_path"), ("../x.js", "unsafe_path"), ("/etc/x.js", "unsafe_path"),
    ("C:/x.js", "unsafe_path"), ("a\\..\\x.js", "unsafe_path"), ("shell.php", "disallowed_file"),
    ("page.shtml", "disallowed_file"), ("run.jsp", "disallowed_file"), ("LICENSE", "disallowed_file"),
    ("图片.png", "unsafe_name"), ("a/b/c/d/e.js", "unsafe_name"), ("-x.js", "unsafe_name"),
])
def test_unsafe_or_unhostable_names_are_refused_naming_the_entry(tmp_path, name, code):
    refused(tmp_path, build([("index.html", PAGE), (name, b"x")]), code, name)


def test_symlinks_are_refused(tmp_path):
    refused(tmp_path, build([("index.html", PAGE), (_info("up.js", 0o120777), b"/etc/passwd")]), "symlink_entry",
            "up.js")


def test_encrypted_entries_are_refused(tmp_path):
    data = bytearray(build([("index.html", PAGE), ("secret.js", b"x")]))
    local = data.index(b"PK\x03\x04", 4)  # the second entry's local header
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[local + 6] |= 0x1  # "encrypted", in both headers, as a password-protected archive says
    data[central + 8] |= 0x1
    refused(tmp_path, bytes(data), "encrypted_entry", "secret.js")


@pytest.mark.parametrize("other", ["app.js", "APP.js"])
def test_duplicate_and_case_colliding_names_are_refused(tmp_path, other):
    refused(tmp_path, build([("index.html", PAGE), ("app.js", b"1"), (other, b"2")]), "duplicate_entry", other)


def test_a_bundle_without_index_is_refused(tmp_path):
    refused(tmp_path, build([("home.html", PAGE), ("app.js", b"1")]), "no_index")
    refused(tmp_path, build([("a/index.html", PAGE), ("b/app.js", b"1")]), "no_index")


def test_too_many_entries_are_refused_before_inflating(tmp_path):
    data = build([("index.html", PAGE)] + [(f"f{i}.js", b"") for i in range(1000)], zipfile.ZIP_STORED)
    refused(tmp_path, data, "too_many_entries")


def test_bomb_by_size_stops_at_the_unpacked_limit(tmp_path):
    data = build([("index.html", PAGE), ("big.js", os.urandom(3 * 1024 * 1024))])
    refused(tmp_path, data, "bundle_too_large", "big.js", limits={**LIMITS, "unpacked": 2 * 1024 * 1024})


def test_packed_size_is_limited(tmp_path):
    refused(tmp_path, promo(), "bundle_too_large", limits={**LIMITS, "packed": 100})


def test_bomb_by_ratio_is_refused(tmp_path):
    refused(tmp_path, build([("index.html", PAGE), ("zeros.json", bytes(30 * 1024 * 1024))]), "compression_ratio",
            "zeros.json")


def test_small_files_may_compress_well(tmp_path):
    _meta, files = check(tmp_path, build([("index.html", PAGE + b" " * 500_000)]))
    assert os.path.getsize(files[0][1]) == len(PAGE) + 500_000


def test_lying_header_cannot_inflate_past_what_it_declares(tmp_path):
    data = _patch_sizes(build([("index.html", bytes(200_000))]), "index.html", 100)
    refused(tmp_path, data, "corrupt_entry", "index.html")
    assert not any(p.stat().st_size > 100 for p in (tmp_path / "out").iterdir())


def test_local_and_central_names_must_agree(tmp_path):
    data = build([("index.html", PAGE), ("trick.js", b"x")])
    data = data.replace(b"trick.js", b"trick.sh", 1)  # the first copy is the local header's
    refused(tmp_path, data, "mismatched_entry", "trick.js")


def test_overlapping_entries_are_refused(tmp_path):
    data = bytearray(build([("index.html", PAGE), ("a.js", b"x" * 100)], zipfile.ZIP_STORED))
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)  # a.js's directory record
    struct.pack_into("<L", data, second + 20, 100_000)  # its compressed size now runs over the next entry
    refused(tmp_path, bytes(data), "overlapping_entry")


def test_the_expo_folder_is_reserved_for_the_poster(tmp_path):
    refused(tmp_path, build([("index.html", PAGE), ("_expo/poster.jpg", samples.jpeg(10, 10))]), "reserved_name",
            "_expo/poster.jpg")


def test_not_a_zip_is_refused(tmp_path):
    refused(tmp_path, b"PK\x03\x04 not really a zip", "not_a_zip")


# End to end: a real worker, the real store, the site app and the sandbox app.

@pytest.fixture
def sandbox(app):
    from config import TestConfig
    from expo.extensions import db
    from expo.sandbox import create_sandbox_app

    application = create_sandbox_app(TestConfig())
    yield application.test_client()
    with application.app_context():
        db.engine.dispose()  # each sandbox app has its own pool; close it rather than leave it to the collector


def upload_ready(api, user, pavilion_id, data):
    answer = api(user).upload(pavilion_id, data, filename="promo.zip")
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["kind"] == "h5"
    return api(user).wait_media(answer.get_json()["id"])


def _get(client, path):
    answer = client.get(path)
    answer.close()
    return answer


def test_bundle_is_served_only_from_the_sandbox_origin(app, api, client, sandbox, exhibitor, curator, worker):
    pavilion = create(api, exhibitor)
    media = upload_ready(api, exhibitor, pavilion["id"], promo())
    assert media["status"] == "ready", media
    assert {"index"} <= set(media["renditions"]) <= {"index", "poster", "poster_webp"}
    assert media["meta"]["entries"] == 4
    url = media["renditions"]["index"]
    assert url.startswith(app.config["EXPO_SANDBOX_ORIGIN"] + "/b/")
    path = urlsplit(url).path
    _b, _, media_id, run_id, capability, _name = path.split("/")
    assert capability != "pub"  # a draft: a signed, expiring capability in the path

    page = sandbox.get(path, headers={"Cookie": "session=stolen"})
    assert page.status_code == 200 and page.data == PAGE
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in policy and "form-action 'none'" in policy
    assert f"frame-ancestors {' '.join(app.config['EXPO_SITE_ORIGINS'])}" in policy
    assert "sandbox allow-scripts" in policy and "allow-same-origin" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"].startswith("private")
    assert "Set-Cookie" not in page.headers
    page.close()
    style = sandbox.get(path.replace("index.html", "css/style.css"))
    assert style.headers["Content-Type"] == "text/css; charset=utf-8" and b"rgb(1, 2, 3)" in style.data
    style.close()
    assert _get(sandbox, path.replace("index.html", "img/logo.png")).headers["Content-Type"] == "image/png"

    # Never from the site's origin, not even for its owner.
    assert api(exhibitor).get(f"/media/{media_id}/{run_id}/index.html").status_code == 404
    assert api(exhibitor).get(f"/media/{media_id}/{run_id}/js/app.js").status_code == 404
    # Unsigned, tampered, expired or foreign paths of an unpublished bundle are 404.
    expiry, signature = capability.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in ("pub", f"{expiry}.{flipped}", f"{int(expiry) + 3600}.{signature}", "0." + signature, "x"):
        assert _get(sandbox, path.replace(capability, bad)).status_code == 404, bad
    assert _get(sandbox, path.replace(run_id, "000000000000")).status_code == 404
    assert _get(sandbox, path.replace("index.html", "../index.html")).status_code == 404
    assert _get(sandbox, path.replace("index.html", "missing.js")).status_code == 404
    with app.app_context():
        from expo.extensions import db
        from media.models import Media

        expired = h5.capability(db.session.get(Media, media_id), now=1_000_000)
    assert _get(sandbox, path.replace(capability, expired)).status_code == 404

    # Published: an unsigned, immutable URL, and the page frames it without allow-same-origin.
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "h5", "media": media_id}]).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    published = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()["blocks"][0]["media"]
    public_path = urlsplit(published["renditions"]["index"]).path
    assert public_path == f"/b/{media_id}/{run_id}/pub/index.html"
    answer = sandbox.get(public_path)
    assert answer.status_code == 200 and answer.headers["Cache-Control"].endswith("immutable")
    answer.close()
    html_page = client.get(f"/pavilions/{pavilion['slug']}")
    html = html_page.get_data(as_text=True)
    assert 'sandbox="allow-scripts allow-forms allow-popups"' in html and "allow-same-origin" not in html
    assert 'referrerpolicy="no-referrer"' in html and 'rel="noopener noreferrer"' in html
    assert f'src="{published["renditions"]["index"]}"' in html
    assert app.config["EXPO_SANDBOX_ORIGIN"] in html_page.headers["Content-Security-Policy"].split("frame-src")[1]
    assert api().get(f"/media/{media_id}/{run_id}/index.html").status_code == 404


def test_a_hostile_bundle_fails_with_the_entry_named(api, exhibitor, worker):
    pavilion = create(api, exhibitor)
    media = upload_ready(api, exhibitor, pavilion["id"], build([("index.html", PAGE), ("cgi/run.php", b"<?php")]))
    assert media["status"] == "failed" and media["error"]["code"] == "disallowed_file"
    assert "'cgi/run.php'" in media["error"]["message"] and media["renditions"] == {}


def test_per_bundle_origins_serve_a_bundle_only_on_its_own_host(app, api, exhibitor, worker):
    from config import TestConfig
    from expo.extensions import db
    from expo.sandbox import create_sandbox_app

    pavilion = create(api, exhibitor)
    media = upload_ready(api, exhibitor, pavilion["id"], promo())
    settings = TestConfig()
    settings.EXPO_SANDBOX_ORIGIN = "https://*.h5.expo.test"
    saved = app.config["EXPO_SANDBOX_ORIGIN"]
    app.config["EXPO_SANDBOX_ORIGIN"] = settings.EXPO_SANDBOX_ORIGIN
    try:
        with app.test_request_context():
            from media.models import Media

            url = h5.sandbox_url(db.session.get(Media, media["id"]), "index.html")
            other = h5.bundle_origin("someOtherBundle1", settings.EXPO_SANDBOX_ORIGIN)
        csp = app.test_client().get("/").headers["Content-Security-Policy"]
    finally:
        app.config["EXPO_SANDBOX_ORIGIN"] = saved
    own = urlsplit(url)
    assert own.scheme == "https" and own.hostname.endswith(".h5.expo.test") and own.hostname.startswith("h5-")
    assert own.hostname == own.hostname.lower() and urlsplit(other).hostname != own.hostname
    assert "frame-src 'self' https://*.h5.expo.test" in csp
    sandbox = create_sandbox_app(settings)
    try:
        client = sandbox.test_client()
        mine = client.get(own.path, base_url=f"https://{own.hostname}")
        assert mine.status_code == 200 and mine.data == PAGE
        assert "sandbox allow-scripts allow-forms allow-popups allow-same-origin" in \
            mine.headers["Content-Security-Policy"]
        mine.close()
        # The same path on another bundle's host (or the bare sandbox domain) would run as that bundle: refused.
        for host in (urlsplit(other).hostname, "h5.expo.test", "evil.example"):
            assert _get_from(client, own.path, host).status_code == 404, host
    finally:
        with sandbox.app_context():
            db.engine.dispose()


def _get_from(client, path, host):
    answer = client.get(path, base_url=f"https://{host}")
    answer.close()
    return answer
