"""Unit tests of rules that need no services: states, blocks, keys, detection, images, accounts."""
import io
import itertools
import secrets

import pytest
from PIL import Image

from media import detect, images, keys
from media.states import MediaKind, MediaStatus
from media.states import can_move as media_can_move
from pavilions import blocks
from pavilions.states import RevisionState
from pavilions.states import can_move as revision_can_move
from tests import samples

MEDIA_ALLOWED = {("queued", "processing"), ("queued", "failed"), ("processing", "ready"), ("processing", "failed"),
                 ("processing", "queued"), ("processing", "processing"), ("ready", "queued"), ("failed", "queued")}
REVISION_ALLOWED = {("pending", "approved"), ("pending", "rejected"), ("pending", "superseded")}


@pytest.mark.parametrize("current,target", list(itertools.product([s.value for s in MediaStatus], repeat=2)))
def test_media_transitions(current, target):
    assert media_can_move(current, target) == ((current, target) in MEDIA_ALLOWED)


@pytest.mark.parametrize("current,target", list(itertools.product([s.value for s in RevisionState], repeat=2)))
def test_revision_transitions(current, target):
    assert revision_can_move(current, target) == ((current, target) in REVISION_ALLOWED)


@pytest.mark.parametrize("payload", [
    '<img src=x onerror=alert(1)>',
    '<svg><script>alert(1)</script></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt&colon;alert(1)">x</a>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>',
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<object data="x"></object><embed src="x">',
])
def test_sanitiser_removes_script_vectors(payload):
    clean = blocks.sanitise_html(payload).lower()
    for bad in ("<script", "onerror", "javascript:", "<img", "<iframe", "<svg", "style=", "<object", "<embed"):
        assert bad not in clean


def test_sanitiser_keeps_formatting_and_marks_links():
    clean = blocks.sanitise_html('<h2>T</h2><p><strong>b</strong> <a href="https://x.org">l</a></p>')
    assert "<h2>T</h2>" in clean and "<strong>b</strong>" in clean
    assert 'rel="noopener noreferrer nofollow ugc"' in clean


def test_tags_are_split_deduplicated_and_capped():
    assert blocks.clean_tags("安全，data, data ,") == ["安全", "data"]
    with pytest.raises(blocks.Invalid):
        blocks.clean_tags([f"t{i}" for i in range(13)])


def test_block_ids_survive_and_duplicates_are_renamed():
    cleaned = blocks.clean_blocks([{"id": "b_keepme1", "kind": "text", "html": "a"},
                                   {"id": "b_keepme1", "kind": "text", "html": "b"}], [])
    assert cleaned[0]["id"] == "b_keepme1" and cleaned[1]["id"] != "b_keepme1"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a//b", "x\x00y", "a/../b", "", "a" * 300, "..", "r\u202etxt.exe",
                                  "/abs", "a/b/c/d/e"])
def test_keys_never_take_user_text(name):
    with pytest.raises(ValueError):
        keys.rendition("abcDEF123456", "run1", name)
    assert keys.original("abcDEF123456") == "originals/abcDEF123456/source"


def test_display_names_are_harmless():
    from media.services import display_name

    assert display_name("../../etc/\x00pass\r\nwd\u202e.jpg") == "passwd.jpg"
    assert display_name("..\\..\\boot.ini") == "boot.ini"
    assert len(display_name("x" * 500)) == 120 and display_name("") == "upload"


@pytest.mark.parametrize("head,kind", [
    (samples.jpeg(10, 10)[:64], MediaKind.IMAGE), (samples.png(10, 10)[:64], MediaKind.IMAGE),
    (b"GIF89a" + b"\0" * 20, MediaKind.IMAGE), (b"RIFF\0\0\0\0WEBPVP8 ", MediaKind.IMAGE),
    (b"\0\0\0\x18ftypisom", MediaKind.VIDEO), (b"\x1a\x45\xdf\xa3", MediaKind.VIDEO), (b"ID3\x04", MediaKind.AUDIO),
    (b"OggS\0", MediaKind.AUDIO), (b"PK\x03\x04", MediaKind.H5), (b"<html>", None), (b"%PDF-1.7", None),
])
def test_kind_is_sniffed_from_magic_bytes(head, kind):
    assert detect.sniff(head)[0] == kind


def test_widths_are_never_upscaled():
    assert images.widths_for(5000) == [320, 640, 960, 1280, 1920, 2560]
    assert images.widths_for(1000) == [320, 640, 960, 1000]
    assert images.widths_for(100) == [100]


def test_cmyk_and_icc_images_come_out_as_srgb_without_profile(tmp_path):
    from PIL import ImageCms

    source = tmp_path / "in.jpg"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.new("CMYK", (700, 400), (0, 200, 200, 0)).save(source, "JPEG", icc_profile=profile)
    meta, files = images.render(source, tmp_path, 50_000_000)
    exts = [ext for ext, *_rest in images.OUTPUTS]
    assert meta["width"] == 700 and {f[0] for f in files} == {f"w{w}.{e}" for w in (320, 640, 700) for e in exts}
    for _name, path, _type, _w in files:
        with Image.open(path) as out:
            assert out.mode in ("RGB", "RGBA") and "icc_profile" not in out.info


def test_pixel_cap_is_checked_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(samples.png_claiming(30000, 30000))
    with pytest.raises(images.ImageRejected) as refused:
        images.open_checked(bomb, 50_000_000)
    assert refused.value.code == "image_too_large"


def test_memory_storage_round_trip():
    from media.storage import MemoryStorage, ObjectMissing

    store = MemoryStorage()
    store.put_stream("a/b", io.BytesIO(b"data"), "text/plain")
    assert store.read("a/b") == b"data" and store.exists("a/b")
    store.delete_prefix("a/")
    with pytest.raises(ObjectMissing):
        store.read("a/b")


def test_passwords_are_argon2_and_tokens_stored_hashed(app, make_user):
    from expo.extensions import db
    from expo.models import ApiToken, User

    user = make_user("visitor")
    with app.app_context():
        row = db.session.get(User, user.id)
        assert row.password_hash.startswith("$argon2id$") and user.password not in row.password_hash
        stored = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)).one()
        assert user.token not in stored.token_hash and len(stored.token_hash) == 64


def test_counted_stream_fills_every_read_and_stops_past_the_limit():
    from expo.errors import TooLarge
    from media.services import _Counted

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 7) if size and size > 0 else 7)

    counted = _Counted(Trickle(b"x" * 100), limit=1000, head=b"HEAD")
    assert counted.read(50) == b"HEAD" + b"x" * 46 and counted.read(-1) == b"x" * 54 and counted.read(10) == b""
    with pytest.raises(TooLarge):
        _Counted(io.BytesIO(b"y" * 2000), limit=1000).read(4096)


@pytest.mark.parametrize("chunk", [7, 1000, 1 << 20])
def test_streamed_form_reads_fields_around_a_file_in_any_chunking(chunk, monkeypatch):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from expo import formstream

    monkeypatch.setattr(formstream, "CHUNK", chunk)
    payload = bytes(range(256)) * 1600  # 400 KB: more than one read of the body
    boundary, body = encode_multipart({"pavilion_id": "p1", "file": FileStorage(io.BytesIO(payload), "a.bin"),
                                       "kind": "video"})
    form = formstream.StreamedForm(io.BytesIO(body), f"multipart/form-data; boundary={boundary}")
    upload = form.next_file()
    assert upload.filename == "a.bin"
    received = b""
    while piece := upload.read(5000):
        received += piece
    assert received == payload
    assert form.finish() == {"pavilion_id": "p1", "kind": "video"}


def test_streamed_form_refuses_bodies_that_are_not_forms_or_end_early():
    from expo import formstream
    from expo.errors import Invalid

    with pytest.raises(Invalid):
        formstream.StreamedForm(io.BytesIO(b"{}"), "application/json")
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab'
    cut = formstream.StreamedForm(io.BytesIO(body), "multipart/form-data; boundary=x")
    with pytest.raises(Invalid):
        cut.next_file().read(-1)


def test_rate_limit_slides_across_a_window_boundary(ctx, monkeypatch):
    """Hits just before a window boundary still count just after it, so a burst cannot straddle it."""
    from expo import ratelimit
    from expo.errors import RateLimited

    key, window = f"unit-slide:{secrets.token_hex(4)}", 100
    clock = [1_000_099.0]  # one second before a boundary (window starts at multiples of 100 s)
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    for _ in range(8):
        ratelimit.hit(key, 10, window, "slow down")
    clock[0] = 1_000_101.0  # the next window has begun; the 8 hits are a second old
    ratelimit.hit(key, 10, window, "slow down")
    ratelimit.hit(key, 10, window, "slow down")
    with pytest.raises(RateLimited):
        ratelimit.hit(key, 10, window, "slow down")
    assert ratelimit.peek(key, window) > 10
    clock[0] = 1_000_350.0  # two windows later everything has slid out
    assert ratelimit.peek(key, window) == 0
    ratelimit.hit(key, 10, window, "slow down")
