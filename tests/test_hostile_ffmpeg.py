"""Local-file reads and request forgery through ffmpeg: playlists, manifests, concat scripts and SDP files, bare or
disguised as MP3, MP4 or AVI, against the upload check, the probe, the transcoder and the whole pipeline.

Each test plants a canary (a secret text file and a small valid clip) and a loopback TCP listener, points the
hostile file at them by absolute path and URL, and asserts that the file is refused or fails with a reason, that
neither the canary's text nor its bytes reach any output, message or stored object, and that nothing connects.
"""
import contextlib
import ctypes
import json
import os
import secrets
import socket
import struct
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from media import audio, detect, transcode
from media.probe import MediaRejected, probe
from tests import hostile_media as hm
from tests.test_api_pavilions import assert_error, create

pytestmark = pytest.mark.files

LIMITS = {"max_seconds": 3600, "max_side": 4096, "max_fps": 120}
VIDEO_INFO = {"duration": 1.0, "bit_rate": None, "video": {"width": 64, "height": 48, "fps": 25.0}, "audio": None}
AUDIO_INFO = {"duration": 1.0}


class Listener:
    """A loopback TCP server on a free port that accepts and records every connection, in a thread."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="canary-listener")
        self._thread.start()

    def _take(self, wait):
        """Accept one connection waiting at most WAIT seconds; record it; return whether there was one."""
        with self._lock:
            self.sock.settimeout(wait)
            try:
                conn, address = self.sock.accept()
            except (TimeoutError, BlockingIOError):
                return False
        self.connections.append(address)
        with conn:
            conn.settimeout(1)
            with contextlib.suppress(OSError):
                self.connections.append(conn.recv(1024))
        return True

    def _serve(self):
        while not self._stop.is_set():
            self._take(0.1)

    def connected(self):
        """Return every connection so far, including those the kernel completed but nobody accepted yet."""
        while self._take(0):
            pass
        return self.connections

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class Tripwire:
    """Counts every open or read of the watched files, by any process on the machine (Linux inotify)."""

    _OPEN_OR_ACCESS = 0x20 | 0x01  # IN_OPEN | IN_ACCESS
    _EVENT = struct.Struct("iIII")  # wd, mask, cookie, name length (no name: files are watched, not folders)

    def __init__(self, *paths):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        for path in paths:
            assert libc.inotify_add_watch(self.fd, os.fsencode(path), self._OPEN_OR_ACCESS) >= 0, path
        self.count = 0

    def touched(self):
        """Return how many opens and reads of the watched files there have been so far."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.count
            self.count += len(data) // self._EVENT.size

    def close(self):
        os.close(self.fd)


@pytest.fixture
def traps(canary):
    """A listener and a tripwire on the canary, armed for one test."""
    server, wire = Listener(), Tripwire(canary.text, canary.clip)
    yield SimpleNamespace(listener=server, tripwire=wire, url=server.url, port=server.port)
    server.close()
    wire.close()


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    """A secret text file and a small valid clip: what the hostile files try to read."""
    folder = tmp_path_factory.mktemp("canary")
    secret = f"CANARY-{secrets.token_hex(16)}"
    text = folder / "canary.txt"
    text.write_text(secret + "\n")
    clip = hm.canary_clip(folder / "canary.mp4")
    data = clip.read_bytes()
    middle = data.index(b"mdat") + 64  # a slice of the encoded pictures, found nowhere else
    return SimpleNamespace(folder=folder, secret=secret, text=text, clip=clip, slice=data[middle:middle + 48])


def documents(canary, traps):
    """Return {name: bytes} of hostile playlists, manifests, scripts and session descriptions."""
    url = traps.url
    return {
        "hls-file": hm.hls_playlist(f"file://{canary.clip}", f"file://{canary.text}"),
        "hls-http": hm.hls_playlist(f"{url}/segment.ts", key_uri=f"{url}/key"),
        "hls-subfile": hm.hls_playlist(f"subfile,,start,0,end,0,,:{canary.clip}",
                                       f"concat:{canary.clip}|{canary.text}"),
        "dash-file": hm.dash_manifest(f"file://{canary.clip}"),
        "dash-http": hm.dash_manifest(f"{url}/video.mp4"),
        "ffconcat-absolute": hm.ffconcat(canary.clip, canary.text),
        "ffconcat-relative": hm.ffconcat(canary.clip.name),  # resolves beside the script, where the canary is
        "ffconcat-http": hm.ffconcat(f"{url}/video.mp4"),
        "sdp": hm.sdp("127.0.0.1", traps.port),
    }


DOCUMENTS = ["hls-file", "hls-http", "hls-subfile", "dash-file", "dash-http", "ffconcat-absolute",
             "ffconcat-relative", "ffconcat-http", "sdp"]
DISGUISES = {
    "bare": (lambda body: body, None),
    "as-mp3": (hm.id3_wrapped, "mp3"),
    "as-mp4": (hm.ftyp_wrapped, "mp4"),
    "in-avi": (hm.gab2_avi, "avi"),
}


def _hostile(canary, traps, name, disguise="bare"):
    """Write the hostile file beside the canary (so relative references would resolve) as upload.bin."""
    wrap, _format = DISGUISES[disguise]
    return hm.write(canary.folder / f"upload-{secrets.token_hex(4)}.bin", wrap(documents(canary, traps)[name]))


def assert_nothing_leaked(canary, traps, *texts, folder=None):
    """Nothing opened the canary, its text and bytes are in none of TEXTS nor any file under FOLDER, and nothing
    connected to the listener."""
    assert traps.tripwire.touched() == 0, "the canary was opened"
    for text in texts:
        assert canary.secret not in text and str(canary.folder) not in text, text
    for path in sorted(Path(folder).rglob("*")) if folder else ():
        if path.is_file():
            data = path.read_bytes()
            assert canary.secret.encode() not in data and canary.slice not in data, path
    assert traps.listener.connected() == []


# The upload check: none of these text files is media by its content, whatever its name or declared kind says.

@pytest.mark.parametrize("name", DOCUMENTS)
def test_bare_playlists_scripts_and_sdp_are_no_kind_of_media(canary, traps, name):
    head = documents(canary, traps)[name][:detect.HEAD_BYTES]
    assert detect.sniff(head) == (None, None)


# The probe: every disguise, read as the container its magic bytes claim, and as the demuxers that follow URLs.

@pytest.mark.parametrize("disguise", ["as-mp3", "as-mp4", "in-avi"])
@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_probe_refuses_disguised_references_without_following_them(canary, traps, name, disguise):
    path = _hostile(canary, traps, name, disguise)
    sniffed_kind, sniffed_format = detect.sniff(path.read_bytes()[:detect.HEAD_BYTES])
    assert sniffed_format == DISGUISES[disguise][1]  # the disguise gets past the upload check
    with pytest.raises(MediaRejected) as caught:
        probe(path, str(sniffed_kind), sniffed_format, LIMITS)
    assert caught.value.code in ("unreadable_media", "undecodable_media", "no_video_stream", "no_audio_stream")
    assert caught.value.message.endswith(".")
    assert_nothing_leaked(canary, traps, caught.value.message)


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize("kind,input_format", [("video", "mp4"), ("audio", "mp3"), ("video", "matroska")])
def test_the_probe_reads_a_bare_reference_file_only_as_the_container_it_was_told(canary, traps, name, kind,
                                                                                 input_format):
    # Were the probe to let FFmpeg guess, it would pick the DASH or concat demuxer and read the canary clip.
    with pytest.raises(MediaRejected) as caught:
        probe(_hostile(canary, traps, name), kind, input_format, LIMITS)
    assert caught.value.code in ("unreadable_media", "undecodable_media")
    assert_nothing_leaked(canary, traps, caught.value.message)


@pytest.mark.parametrize("input_format", ["hls", "dash", "concat", "sdp", "rtsp", "image2", "lavfi", "tee"])
def test_the_probe_opens_no_demuxer_outside_its_allow_list(canary, traps, input_format):
    name = {"hls": "hls-file", "dash": "dash-file", "concat": "ffconcat-relative", "sdp": "sdp"}.get(
        input_format, "hls-http")
    with pytest.raises(MediaRejected) as caught:
        probe(_hostile(canary, traps, name), "video", input_format, LIMITS)
    assert caught.value.code == "unsupported_container" and "MP4" in caught.value.message
    assert_nothing_leaked(canary, traps, caught.value.message)


# The transcoder: ffmpeg itself, should a hostile file ever reach it.

@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_video_transcoder_never_lets_ffmpeg_guess_the_demuxer(canary, traps, tmp_path, name):
    with pytest.raises(MediaRejected) as caught:
        transcode.transcode_video(_hostile(canary, traps, name), tmp_path, VIDEO_INFO, "mp4")
    assert caught.value.code == "transcode_failed"
    assert_nothing_leaked(canary, traps, caught.value.message, folder=tmp_path)


@pytest.mark.parametrize("name", ["hls-file", "dash-file", "ffconcat-relative", "ffconcat-http"])
def test_the_audio_leveller_never_lets_ffmpeg_guess_the_demuxer(canary, traps, tmp_path, name):
    with pytest.raises(MediaRejected) as caught:
        audio.process_audio(_hostile(canary, traps, name), tmp_path, AUDIO_INFO, "mp3")
    assert caught.value.code == "transcode_failed"
    assert_nothing_leaked(canary, traps, caught.value.message, folder=tmp_path)


def test_the_transcoder_does_not_follow_a_playlist_hidden_in_an_avi(canary, traps, tmp_path):
    hostile = _hostile(canary, traps, "hls-file", "in-avi")
    with pytest.raises(MediaRejected) as caught:
        transcode.transcode_video(hostile, tmp_path, VIDEO_INFO, "avi")
    assert caught.value.code == "transcode_failed"
    assert_nothing_leaked(canary, traps, caught.value.message, folder=tmp_path)


@pytest.mark.parametrize("name,input_format", [("hls-http", "hls"), ("dash-http", "dash"),
                                               ("ffconcat-http", "concat")])
def test_the_protocol_whitelist_keeps_even_a_url_following_demuxer_off_the_network(canary, traps, tmp_path,
                                                                                   name, input_format):
    # input_args is the only way the project opens an input for ffmpeg: even handed a demuxer that follows URLs,
    # it allows the file and pipe protocols alone.
    hostile = _hostile(canary, traps, name)
    with pytest.raises(MediaRejected):
        transcode.run([*transcode.input_args(hostile, input_format), "-f", "null", "-"], 60)
    assert_nothing_leaked(canary, traps, folder=tmp_path)


# The whole path: API upload, real worker, real store.

def stored_objects(app, media_id):
    """Return {key: bytes} of every object the store holds for MEDIA_ID (original and renditions)."""
    from media.storage import get_storage

    found = {}
    with app.app_context():
        storage = get_storage()
        for prefix in (f"media/{media_id}/", f"originals/{media_id}/"):
            page = storage._call("list_objects_v2", Prefix=prefix)
            for item in page.get("Contents", []):
                found[item["Key"]] = storage.read(item["Key"])
    return found


def test_hostile_references_fail_end_to_end_with_nothing_read_or_reached(app, api, exhibitor, worker, canary,
                                                                         traps):
    pavilion = create(api, exhibitor)
    docs = documents(canary, traps)
    # Bare, under a name and a declared kind that lie: refused at the door, nothing stored.
    for name, filename, kind in (("hls-file", "booth.mp4", "video"), ("dash-http", "talk.mp3", "audio"),
                                 ("ffconcat-absolute", "booth.mp4", None), ("sdp", "stream.mp4", "video")):
        assert_error(api(exhibitor).upload(pavilion["id"], docs[name], filename=filename, kind=kind), 415,
                     "unknown_type")
    # Disguised well enough to pass the door: each fails in the worker with a reason.
    uploads = []
    for name, disguise, filename, kind in (("hls-file", "as-mp3", "song.mp3", "audio"),
                                           ("dash-file", "as-mp4", "booth.mp4", "video"),
                                           ("hls-http", "in-avi", "booth.avi", "video"),
                                           ("ffconcat-relative", "as-mp3", "song.mp3", None)):
        answer = api(exhibitor).upload(pavilion["id"], DISGUISES[disguise][0](docs[name]), filename=filename,
                                       kind=kind)
        assert answer.status_code == 202, answer.get_json()
        uploads.append(answer.get_json()["id"])
    for media_id in uploads:
        done = api(exhibitor).wait_media(media_id, timeout=120)
        assert done["status"] == "failed", done
        assert done["error"]["code"] in ("unreadable_media", "undecodable_media", "no_video_stream",
                                         "no_audio_stream"), done
        assert done["error"]["message"].endswith(".") and done["renditions"] == {}
        stored = stored_objects(app, media_id)
        assert list(stored) == [f"originals/{media_id}/source"]  # no rendition of any kind
        for key, data in stored.items():
            assert canary.secret.encode() not in data and canary.slice not in data, key
        assert_nothing_leaked(canary, traps, json.dumps(done))
