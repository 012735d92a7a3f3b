"""A bundle's own images are served as uploaded, so their metadata is cut out losslessly when the bundle is unpacked."""
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from media import h5, strip
from tests import hostile_files

pytestmark = pytest.mark.files

LIMITS = {"packed": 50 * 1024 * 1024, "unpacked": 100 * 1024 * 1024, "entries": 100, "ratio": 100}


def _bundle(tmp_path, files):
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("index.html", "<!doctype html><title>Booth</title><img src='photo.jpg' alt='Booth'>")
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _extracted(tmp_path, files):
    out = tmp_path / "out"
    out.mkdir()
    _meta, listed = h5.validate_and_extract(_bundle(tmp_path, files), out, LIMITS)
    return {relative: Path(path).read_bytes() for relative, path, _type in listed}


def _tagged_jpeg(marks):
    tags = hostile_files.exif(marks)
    tags[0x0112] = 6  # rotated: the one tag a browser needs to show the photo upright
    out = io.BytesIO()
    hostile_files._picture(320, 240).save(out, "JPEG", exif=tags, xmp=hostile_files.xmp(marks),
                                          comment=marks["text"].encode())
    return out.getvalue()


def test_a_bundles_images_lose_exif_xmp_comments_and_text_but_keep_their_pixels(tmp_path):
    marks = hostile_files.metadata_marks()
    originals = {"photo.jpg": _tagged_jpeg(marks), "chart.png": hostile_files.png_tagged(marks),
                 "badge.webp": hostile_files.webp_tagged(marks)}
    served = _extracted(tmp_path, originals)
    gps = [str(v).encode() for v in hostile_files.XMP_GPS]
    for name, original in originals.items():
        cleaned = served[name]
        planted = [m for key, m in marks.items() if key != "icc" and m.encode() in original]
        assert planted, f"{name}: the sample carries no marker to look for"
        for mark in [*(m.encode() for key, m in marks.items() if key != "icc"), *gps, b"Jane Doe", b"<script"]:
            if name != "chart.png" and mark == b"<script":
                continue  # the ICC profile's own copyright text (kept: it is colour data) holds this sample's script
            assert mark not in cleaned, f"{name} still carries {mark!r}"
        with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(cleaned)) as after:
            assert after.size == before.size and after.tobytes() == before.tobytes(), f"{name}: pixels changed"
            exif = after.getexif()
            assert 0x8825 not in exif and 0x013B not in exif and not after.info.get("xmp")
            if name == "photo.jpg":
                assert dict(exif) == {0x0112: 6}, "the orientation alone survives, so the photo shows upright"


def test_a_damaged_image_in_a_bundle_is_refused_naming_it(tmp_path):
    cut = _tagged_jpeg(hostile_files.metadata_marks())[:40]  # ends inside its EXIF segment
    with pytest.raises(h5.BundleRejected) as refused:
        _extracted(tmp_path, {"img/photo.jpg": cut})
    assert refused.value.code == "damaged_image" and "'img/photo.jpg'" in refused.value.message


def test_images_without_metadata_come_out_byte_for_byte(tmp_path):
    plain = io.BytesIO()
    hostile_files._picture(64, 48).save(plain, "PNG")
    path = tmp_path / "plain.png"
    path.write_bytes(plain.getvalue())
    assert strip.strip_in_place(path, "image/png") and path.read_bytes() == plain.getvalue()
    assert not strip.strip_in_place(path, "image/gif")  # not walked: left as it is
