"""Archive tricks against H5 bundles, beyond those tests/test_h5.py already plays (traversal, absolute paths,
symlinks, encrypted entries, duplicate and case-colliding names, a renamed local header, PHP/SSI/JSP names):
special files, flags and names that only the local header carries, unusual compression, encoded traversal,
server-side file names, and server-side code that must reach visitors as the inert bytes it was uploaded as.
"""
import zipfile
from urllib.parse import urlsplit

import pytest

from media import h5
from tests import hostile_media as hm
from tests.test_api_pavilions import create
from tests.test_h5 import PAGE, build, check, refused, sandbox, upload_ready  # noqa: F401 - sandbox is a fixture

pytestmark = pytest.mark.files


def refused_as_any(tmp_path, data):
    """Return the refusal of the bundle DATA, whatever its code."""
    with pytest.raises(h5.BundleRejected) as caught:
        check(tmp_path, data)
    assert caught.value.message.endswith(".")
    return caught.value


@pytest.mark.parametrize("kind,mode", [("fifo", 0o010644), ("character device", 0o020644),
                                       ("block device", 0o060644), ("socket", 0o140644)])
def test_special_files_are_refused(tmp_path, kind, mode):
    refused(tmp_path, build([("index.html", PAGE), hm.entry("dev.js", b"", mode=mode)]), "special_entry", "dev.js")


def test_an_encryption_flag_in_the_local_header_alone_is_refused(tmp_path):
    # zipfile reads the directory's flags; an extractor that trusts the local header would see another file.
    data = hm.flag_local(build([("index.html", PAGE), ("secret.js", b"x")]), "secret.js", 0x1)
    refused(tmp_path, data, "mismatched_entry", "secret.js")


def test_a_traversal_name_in_the_local_header_alone_is_refused(tmp_path):
    # The directory says js/a.js; the local header, which streaming extractors follow, says ../a.js.
    data = hm.rename_local(build([("index.html", PAGE), ("js/a.js", b"x")]), "js/a.js", "../a.js")
    refused(tmp_path, data, "mismatched_entry", "js/a.js")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_unusual_compression_is_refused(tmp_path, method):
    # bzip2 bombs reach ratios deflate cannot, and each extra decompressor is more code facing the attacker.
    data = build([("index.html", PAGE), hm.entry("app.js", b"x" * 1000, method=method)])
    refused(tmp_path, data, "unsupported_compression", "app.js")


def test_a_file_and_a_folder_differing_only_in_case_are_refused(tmp_path):
    refused(tmp_path, build([("index.html", PAGE), ("app.js", b"1"), ("APP.JS/", b"")]), "duplicate_entry")


@pytest.mark.parametrize("name", ["%2e%2e/x.js", "..%2fx.js", "x.js%00.png", "a/./b.js", "a//b.js", "~/x.js",
                                  "./index.html", " /x.js"])
def test_encoded_and_odd_paths_are_refused(tmp_path, name):
    error = refused_as_any(tmp_path, build([("index.html", PAGE), (name, b"x")]))
    assert error.code in ("unsafe_path", "unsafe_name", "disallowed_file") and f"'{name}'" in error.message


SERVER_SIDE_NAMES = ["x.php5", "x.phtml", "x.phar", "x.asp", "x.aspx", "x.cgi", "x.pl", "x.py", "x.rb", "x.erb",
                     "x.j2", "x.jinja", "x.twig", "x.shtm", "x.stm", "x.jspx", "x.cfm", "x.sh", ".htaccess",
                     ".user.ini", "web.config", "cgi-bin/run", "x.svgz", "x.xhtml", "x.xml", "x.xsl"]


@pytest.mark.parametrize("name", SERVER_SIDE_NAMES)
def test_files_a_web_server_would_run_or_obey_are_refused(tmp_path, name):
    error = refused_as_any(tmp_path, build([("index.html", PAGE), (name, b"<?php system($_GET['c']); ?>")]))
    assert error.code in ("disallowed_file", "unsafe_name") and f"'{name}'" in error.message


def test_server_side_code_under_an_image_name_is_refused_as_a_damaged_image(tmp_path):
    """A bundle's images are walked to cut their metadata (media/strip.py): PHP named .png is no image at all."""
    error = refused_as_any(tmp_path, build([("index.html", PAGE), ("shell.php.png",
                                                                   b"<?php echo 7*7; system($_GET['c']); ?>")]))
    assert error.code == "damaged_image" and "'shell.php.png'" in error.message


# Server-side code under names the expo hosts: kept, and served as exactly the uploaded bytes, never run.

TEMPLATE = (b"<!doctype html><title>Booth</title><h1>{{ 7*7 }}</h1><p>{% if true %}jinja{% endif %}</p>"
            b"<p><%= 7*7 %></p><p>${7*7}</p><p>#{7*7}</p><p><?php echo 7*7; ?></p>"
            b'<!--#include virtual="/etc/passwd" --><!--#exec cmd="id" --><!--#echo var="DOCUMENT_ROOT" -->')
INERT = {
    "index.html": (TEMPLATE, "text/html; charset=utf-8"),
    "notes.txt": (b"{{ 7*7 }} <%= 7*7 %> <!--#include file=\"/etc/hostname\" -->", "text/plain; charset=utf-8"),
    "data.json": (b'{"expr": "{{ 7*7 }}", "ssi": "<!--#exec cmd=\\"id\\" -->"}', "application/json"),
    "app.js": (b"const sum = `${7*7}`; // {{ 7*7 }}", "text/javascript; charset=utf-8"),
}


def test_server_side_code_in_a_bundle_is_served_inert_and_byte_exact(api, exhibitor, worker, sandbox):  # noqa: F811
    pavilion = create(api, exhibitor)
    bundle = build([(name, data) for name, (data, _type) in INERT.items()])
    media = upload_ready(api, exhibitor, pavilion["id"], bundle)
    assert media["status"] == "ready", media
    index = urlsplit(media["renditions"]["index"]).path
    for name, (data, content_type) in INERT.items():
        answer = sandbox.get(index.replace("index.html", name))
        body = answer.get_data()
        answer.close()
        assert answer.status_code == 200, name
        assert body == data, name  # no template, include or interpreter ran: not one byte differs
        assert b"49" not in body and b"root:" not in body, name
        assert answer.headers["Content-Type"] == content_type, name
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", name
        assert "sandbox allow-scripts" in answer.headers.get("Content-Security-Policy", ""), name
