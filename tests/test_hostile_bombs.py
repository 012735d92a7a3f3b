"""Decompression and resource bombs: pictures that claim 65,000² pixels, metadata that inflates, GIFs of many
frames, ten hours of sound or video in a few KB, and zip bombs by size, by ratio, nested and overlapping.

Each is refused with a reason before the work it asks for is done (a generous deadline guards against a hang;
speed itself belongs in bench/), or costs no more than an honest file of its size would; and the site keeps
answering other requests while the worker deals with them.
"""
import contextlib
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import av
import pytest
from PIL import Image

from media import audio, h5, images, transcode
from media.probe import MediaRejected, probe
from tests import hostile_media as hm
from tests import samples
from tests.test_api_pavilions import create

pytestmark = pytest.mark.files

# The limits the worker runs with (the embedded defaults, as an operator who changed nothing has them).
LIMITS = SimpleNamespace()


@pytest.fixture(scope="module", autouse=True)
def _limits(app):
    config = app.config
    LIMITS.image, LIMITS.panorama = config["EXPO_MAX_IMAGE_PIXELS"], config["EXPO_MAX_PANORAMA_PIXELS"]
    LIMITS.av = {"max_seconds": config["EXPO_MAX_VIDEO_SECONDS"], "max_side": config["EXPO_MAX_VIDEO_SIDE"],
                 "max_fps": config["EXPO_MAX_VIDEO_FPS"]}
    LIMITS.h5 = h5.limits(config)
HANG = 60  # seconds: far above what any of these takes, far below what the bombs would cost


@contextlib.contextmanager
def no_hang(seconds=HANG):
    """Fail if the block runs past SECONDS (a guard against hanging, not a measure of speed)."""
    started = time.monotonic()
    yield
    assert time.monotonic() - started < seconds, f"took longer than {seconds} s"


def _out(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    return out


# Pictures

CLAIMS = {
    "png": lambda w, h: samples.png_claiming(w, h),
    "jpeg": hm.jpeg_claiming,
    "gif-screen": hm.gif_claiming,
    "gif-frame": lambda w, h: hm.gif_frame_beyond_screen(w, h),
    "webp": hm.webp_claiming,
}


@pytest.mark.parametrize("fmt", list(CLAIMS))
def test_an_image_claiming_65000_squared_pixels_is_refused_before_decoding(tmp_path, fmt):
    data = CLAIMS[fmt](65000, 65000)
    assert len(data) < 2048
    out = _out(tmp_path)
    with no_hang(), pytest.raises(images.ImageRejected) as caught:
        images.render(hm.write(tmp_path / "upload.bin", data), out, LIMITS.image)
    assert caught.value.code == "image_too_large"
    assert "65000×65000" in caught.value.message and "50 MP" in caught.value.message
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fmt", list(CLAIMS))
def test_a_panorama_claiming_65000_by_32500_pixels_is_refused_before_decoding(tmp_path, fmt):
    out = _out(tmp_path)
    with no_hang(), pytest.raises(images.ImageRejected) as caught:
        images.render_panorama(hm.write(tmp_path / "upload.bin", CLAIMS[fmt](65000, 32500)), out,
                               LIMITS.panorama)
    assert caught.value.code == "image_too_large" and "100 MP" in caught.value.message
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("after_pixels", [False, True], ids=["read-on-open", "read-on-decode"])
@pytest.mark.parametrize("chunk", [b"zTXt", b"iCCP"])
def test_a_png_whose_metadata_inflates_to_16_mb_is_refused_with_a_reason(tmp_path, chunk, after_pixels):
    # Pillow stops inflating at 1 MB (MAX_TEXT_CHUNK) and raises ValueError, which must become a refusal with a
    # reason rather than the worker's "failed unexpectedly".
    data = hm.png_chunk_bomb(chunk, after_pixels=after_pixels)
    assert len(data) < 100_000
    with no_hang(), pytest.raises(images.ImageRejected) as caught:
        images.render(hm.write(tmp_path / "upload.bin", data), _out(tmp_path), LIMITS.image)
    assert caught.value.code == "unreadable_image" and caught.value.message.endswith(".")


def test_a_gif_of_20000_frames_costs_one_frame(tmp_path):
    data = hm.gif_many_frames(20_000)
    assert len(data) < 500_000
    with no_hang():
        meta, files = images.render(hm.write(tmp_path / "upload.bin", data), _out(tmp_path),
                                    LIMITS.image)
    assert (meta["width"], meta["height"]) == (64, 64)
    for _name, path, _type, _width in files:  # stills: nothing downstream ever plays 20,000 frames
        with Image.open(path) as rendition:
            assert getattr(rendition, "n_frames", 1) == 1, path.name


# Sound and video

def test_ten_hours_claimed_by_a_few_kb_are_refused_from_the_header(tmp_path):
    video = hm.mkv_claiming(tmp_path / "video.mkv", 10 * 3600)
    sound = hm.flac_claiming(tmp_path / "sound.flac", 10 * 3600)
    for path, kind, fmt in ((video, "video", "matroska"), (sound, "audio", "flac")):
        assert path.stat().st_size < 16_000
        with no_hang(), pytest.raises(MediaRejected) as caught:
            probe(path, kind, fmt, LIMITS.av)
        assert caught.value.code == "too_long", path.name
        assert "10 hours" in caught.value.message and "3 hours" in caught.value.message


def _hls_seconds(files):
    return sum(float(d) for _n, path, _t in files if _n.endswith("/index.m3u8")
               for d in re.findall(r"#EXTINF:([\d.]+)", path.read_text()))


def test_a_clip_that_says_two_seconds_but_runs_ten_hours_costs_two_seconds(tmp_path, monkeypatch):
    liar = hm.mkv_lying_short(tmp_path / "liar.mkv")
    assert liar.stat().st_size < 16_000
    info = probe(liar, "video", "matroska", LIMITS.av)
    assert info["duration"] == pytest.approx(2.0)
    thumbnails = []
    storyboard = transcode._storyboard
    monkeypatch.setattr(transcode, "_storyboard", lambda thumbs, *rest: (thumbnails.extend(thumbs),
                                                                          storyboard(thumbs, *rest)))
    with no_hang():
        meta, files = transcode.transcode_video(liar, _out(tmp_path), info, "matroska")
    assert meta["duration"] == pytest.approx(2.0)
    assert _hls_seconds(files) <= transcode.read_limit(2.0)
    # Every rendition and every thumbnail ffmpeg made stops at what the probe measured, not ten hours later.
    assert len(thumbnails) <= transcode.read_limit(2.0) + 1


def test_sound_that_says_two_seconds_but_runs_a_minute_is_levelled_for_two(tmp_path):
    liar = hm.flac_claiming(tmp_path / "liar.flac", 2, actual=60)
    info = probe(liar, "audio", "flac", LIMITS.av)
    assert info["duration"] == pytest.approx(2.0)
    out = _out(tmp_path)
    with no_hang():
        audio.process_audio(liar, out, info, "flac")
    for name in ("audio.m4a", "audio.webm"):
        with av.open(str(out / name)) as rendition:
            assert rendition.duration / av.time_base <= transcode.read_limit(2.0) + 0.1, name  # codec padding


# Zip bombs (H5 bundles), against the limits an operator gets without configuring anything

def _refused(tmp_path, data, code, entry=None):
    out = _out(tmp_path)
    with no_hang(), pytest.raises(h5.BundleRejected) as caught:
        h5.validate_and_extract(hm.write(tmp_path / "upload.bin", data), out, LIMITS.h5)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message.endswith(".")
    if entry:
        assert f"'{entry}'" in caught.value.message
    return out, caught.value.message


def test_a_bomb_by_total_size_is_refused_before_inflating_a_byte(tmp_path):
    # 600 entries of just under 1 MB of zeros: each harmless by ratio, together past the 500 MB limit.
    data = hm.many_small_entries(600, 1024 * 1024 - 1)
    assert len(data) < 1024 * 1024
    out, message = _refused(tmp_path, data, "bundle_too_large", "d0500.json")
    assert "500 MB" in message and list(out.iterdir()) == []


def test_a_bomb_by_ratio_is_refused_before_inflating_a_byte(tmp_path):
    data = hm.zip_of([("index.html", hm.PAGE), ("data.json", bytes(16 * 1024 * 1024))])
    assert len(data) < 200_000
    out, _message = _refused(tmp_path, data, "compression_ratio", "data.json")
    assert list(out.iterdir()) == []


def test_a_nested_bomb_is_refused_and_a_disguised_one_never_opened(tmp_path):
    bomb = hm.nested_bomb()  # 8 × 8 × 8 zips over 1 MB of zeros each: 512 MB three levels down
    assert len(bomb) < 10_000
    _refused(tmp_path, bomb, "disallowed_file", "bundle.zip")
    inner = hm.nested_bomb(depth=2)
    _meta, files = h5.validate_and_extract(
        hm.write(tmp_path / "disguised.bin", hm.zip_of([("index.html", hm.PAGE), ("data.json", inner)])),
        tmp_path / "out", LIMITS.h5)
    stored = {name: Path(path).read_bytes() for name, path, _type in files}
    assert stored == {"index.html": hm.PAGE, "data.json": inner}  # kept as bytes, never unpacked


def test_an_overlapping_bomb_is_refused_before_inflating_a_byte(tmp_path):
    # 64 entries share one kernel of just under 1 MB: 7 KB that unpack to 64 MB, each entry under the ratio floor.
    data = hm.overlapping_bomb(64, 1024 * 1024 - 1)
    assert len(data) < 10_000
    out, _message = _refused(tmp_path, data, "overlapping_entry")
    assert list(out.iterdir()) == []


# The whole path, while someone else uses the site

class Visitor(threading.Thread):
    """Keeps fetching the hall and the API from a client of its own, recording each answer's status and time."""

    def __init__(self, app):
        super().__init__(daemon=True, name="visitor")
        self.client, self.answers, self.stop = app.test_client(), [], threading.Event()
        self.client.environ_base.update(REMOTE_ADDR="10.250.1.1", HTTP_ACCEPT_LANGUAGE="en")

    def run(self):
        while not self.stop.is_set():
            for path in ("/", "/api/v1/pavilions"):
                answer = self.client.get(path)
                self.answers.append((time.monotonic(), path, answer.status_code))
                answer.close()
            time.sleep(0.05)


def test_bombs_fail_in_the_worker_with_reasons_while_the_site_keeps_answering(app, api, exhibitor, worker,
                                                                               tmp_path):
    pavilion = create(api, exhibitor)
    bombs = [
        (hm.jpeg_claiming(65000, 65000), "photo.jpg", None, "image_too_large"),
        (hm.gif_claiming(65000, 32500), "pano.gif", "panorama", "image_too_large"),
        (hm.flac_claiming(tmp_path / "t.flac", 10 * 3600).read_bytes(), "talk.flac", "audio", "too_long"),
        (hm.mkv_claiming(tmp_path / "v.mkv", 10 * 3600).read_bytes(), "film.mkv", "video", "too_long"),
        (hm.many_small_entries(600, 1024 * 1024 - 1), "site.zip", "h5", "bundle_too_large"),
        (hm.overlapping_bomb(64, 1024 * 1024 - 1), "site.zip", "h5", "overlapping_entry"),
    ]
    visitor = Visitor(app)
    visitor.start()
    try:
        started = time.monotonic()
        ids = []
        for data, filename, kind, _code in bombs:
            answer = api(exhibitor).upload(pavilion["id"], data, filename=filename, kind=kind)
            assert answer.status_code == 202, answer.get_json()
            ids.append(answer.get_json()["id"])
        results = [api(exhibitor).wait_media(media_id, timeout=120) for media_id in ids]
        settled = time.monotonic()
    finally:
        visitor.stop.set()
        visitor.join(timeout=30)
    for (_data, filename, _kind, code), done in zip(bombs, results, strict=True):
        assert done["status"] == "failed", (filename, done)
        assert done["error"]["code"] == code, (filename, done["error"])
        assert done["error"]["message"].endswith(".") and done["renditions"] == {}
    meanwhile = [status for at, _path, status in visitor.answers if started <= at <= settled]
    assert meanwhile and set(meanwhile) == {200}, visitor.answers[-5:]
    assert {path for _at, path, _status in visitor.answers} == {"/", "/api/v1/pavilions"}
