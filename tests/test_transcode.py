"""The ffmpeg side of the pipeline on tiny generated clips: probe, ladder, stills, audio levelling, captions."""
import json
import re
import time

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from media import audio as audio_step
from media import captions, transcode
from media.probe import MediaRejected, probe
from tests import av_samples

pytestmark = pytest.mark.db_independent  # ffmpeg and probing only

LIMITS = {"max_seconds": 3600, "max_side": 4096, "max_fps": 120}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return tmp_path_factory.mktemp("av-samples")


def _transcode(tmp_path_factory, source, input_format="mp4"):
    info = probe(source, "video", input_format, LIMITS)
    out = tmp_path_factory.mktemp("out")
    reports = []
    meta, files = transcode.transcode_video(source, out, info, input_format, reports.append)
    return meta, files, reports, out


@pytest.fixture(scope="module")
def small(samples, tmp_path_factory):
    """A tagged 6 s 320×240 clip, transcoded."""
    source = av_samples.mp4(samples / "small.mp4", 320, 240, seconds=6)
    return source, *_transcode(tmp_path_factory, source)


@pytest.fixture(scope="module")
def hd(samples, tmp_path_factory):
    """A tagged 2 s 1280×720 clip, transcoded."""
    source = av_samples.mp4(samples / "hd.mp4", 1280, 720, seconds=2)
    return source, *_transcode(tmp_path_factory, source)


def _names(files):
    return [name for name, _path, _type in files]


# Probe

def test_probe_reports_what_the_file_holds(small):
    source = small[0]
    info = probe(source, "video", "mp4", LIMITS)
    assert info["format"] == "mp4" and info["size"] == source.stat().st_size and info["bit_rate"] > 0
    assert info["duration"] == pytest.approx(6, abs=0.1)
    assert info["video"] == {"codec": "h264", "width": 320, "height": 240, "fps": 25.0, "rotation": 0}
    assert info["audio"]["codec"] == "aac" and info["audio"]["sample_rate"] == 48000


def test_probe_gives_the_display_size_of_a_rotated_clip(samples):
    info = probe(av_samples.rotated(samples / "rotated.mp4", samples), "video", "mp4", LIMITS)
    assert (info["video"]["rotation"], info["video"]["width"], info["video"]["height"]) == (90, 240, 320)


def test_probe_reads_matroska_vp9(samples):
    info = probe(av_samples.mkv_vp9(samples / "clip.mkv"), "video", "matroska", LIMITS)
    assert (info["video"]["codec"], info["audio"]["codec"]) == ("vp9", "opus")


@pytest.mark.parametrize(("make", "kind", "input_format", "limits", "code", "words"), [
    (lambda d: av_samples.truncated(d / "cut.mp4", d), "video", "mp4", {}, "unreadable_media", "before its video"),
    (lambda d: av_samples.mp3(d / "tone.mp3"), "video", "mp3", {}, "unsupported_container", "MP4"),
    (lambda d: av_samples.mp3(d / "tone.mp3"), "video", "mp4", {}, "unreadable_media", "export it again"),
    (lambda d: av_samples.silent(d / "mute.mp4"), "audio", "mp4", {}, "no_audio_stream", "no sound"),
    (lambda d: av_samples.quiet_wav(d / "quiet.wav"), "video", "avi", {}, "unreadable_media", "export it again"),
    (lambda d: av_samples.mjpeg_avi(d / "mjpeg.avi"), "video", "avi", {}, "unsupported_codec", "H.264"),
    (lambda d: av_samples.mp4(d / "long.mp4"), "video", "mp4", {"max_seconds": 1}, "too_long", "1 second"),
    (lambda d: av_samples.mp4(d / "wide.mp4"), "video", "mp4", {"max_side": 200}, "too_large_frame", "200"),
    (lambda d: av_samples.mp4(d / "fast.mp4"), "video", "mp4", {"max_fps": 10}, "too_many_fps", "10 fps"),
    (lambda d: av_samples.playlist_disguised(d / "list.mp4"), "video", "mp4", {}, "unreadable_media", "export"),
])
def test_probe_refuses_with_a_sentence(samples, make, kind, input_format, limits, code, words):
    with pytest.raises(MediaRejected) as caught:
        probe(make(samples), kind, input_format, {**LIMITS, **limits})
    assert caught.value.code == code
    assert words in caught.value.message and caught.value.message.endswith(".")


def test_probe_finds_no_video_in_audio_in_a_video_container(samples):
    audio_only = av_samples.m4a(samples / "audio-only.mp4")
    with pytest.raises(MediaRejected) as caught:
        probe(audio_only, "video", "mp4", LIMITS)
    assert caught.value.code == "no_video_stream"


def test_ffmpeg_refuses_a_playlist_disguised_as_mp4(samples, tmp_path):
    disguised = av_samples.playlist_disguised(samples / "playlist.mp4")
    info = {"duration": 1.0, "bit_rate": None, "video": {"width": 320, "height": 240, "fps": 25.0}, "audio": None}
    with pytest.raises(MediaRejected) as caught:
        transcode.transcode_video(disguised, tmp_path, info, "mp4")
    assert caught.value.code == "transcode_failed"
    assert str(samples) not in caught.value.message and "passwd" not in caught.value.message


# Video ladder

@pytest.mark.parametrize(("size", "expected"), [
    ((320, 240), [(240, 320, 240)]),
    ((321, 239), [(238, 320, 238)]),
    ((1280, 720), [(720, 1280, 720), (480, 854, 480), (360, 640, 360)]),
    ((3840, 2160), [(1080, 1920, 1080), (720, 1280, 720), (480, 854, 480), (360, 640, 360)]),
    ((1080, 1920), [(1080, 1080, 1920), (720, 720, 1280), (480, 480, 854), (360, 360, 640)]),
])
def test_the_ladder_never_upscales_and_keeps_sizes_even(size, expected):
    assert transcode.ladder(*size) == expected


def test_a_small_source_gives_one_rung_of_its_own_height(small):
    _source, meta, files, _reports, _out = small
    assert meta["rungs"] == [240] and (meta["width"], meta["height"], meta["has_audio"]) == (320, 240, True)
    assert "hls/v240/index.m3u8" in _names(files) and "hls/v240/init_240.mp4" in _names(files)
    assert not [name for name in _names(files) if re.match(r"hls/v(360|480|720|1080)/", name)]


def test_an_hd_source_gives_720_480_360_with_every_file_and_the_master_last(hd):
    _source, meta, files, _reports, out = hd
    assert meta["rungs"] == [720, 480, 360]
    names = _names(files)
    assert names[-1] == "hls/master.m3u8" and len(names) == len(set(names))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(names)
    master = (out / "hls/master.m3u8").read_text()
    for rung, size in ((720, "1280x720"), (480, "854x480"), (360, "640x360")):
        assert re.search(rf"#EXT-X-STREAM-INF:BANDWIDTH=\d+,[^\n]*RESOLUTION={size}[^\n]*\nv{rung}/index\.m3u8", master)
        playlist = out / f"hls/v{rung}/index.m3u8"
        named = [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]
        named.append(re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.read_text()).group(1))
        for name in named:
            assert names.index(f"hls/v{rung}/{name}") < names.index(f"hls/v{rung}/index.m3u8")
        assert names.index(f"hls/v{rung}/index.m3u8") < names.index("hls/master.m3u8")
    assert dict((n, t) for n, _p, t in files)["hls/master.m3u8"] == "application/vnd.apple.mpegurl"


def test_segments_are_fragmented_mp4(small):
    _source, _meta, files, _reports, _out = small
    types = {name: content_type for name, _path, content_type in files}
    segments = [path for name, path, _type in files if name.endswith(".m4s")]
    init = next(path for name, path, _type in files if name.startswith("hls/") and name.endswith(".mp4"))
    assert segments and init.read_bytes()[4:8] == b"ftyp" and b"moov" in init.read_bytes()
    assert all(b"moof" in segment.read_bytes()[:4096] for segment in segments)
    assert {types[n] for n in types if n.endswith(".m4s")} == {"video/iso.segment"}
    assert types["hls/v240/init_240.mp4"] == "video/mp4"
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", (init.parent / "index.m3u8").read_text())]
    assert durations[0] == pytest.approx(4, abs=0.05) and sum(durations) == pytest.approx(6, abs=0.1)


def test_keyframes_fall_every_two_seconds(small, tmp_path):
    _source, _meta, files, _reports, _out = small
    joined = tmp_path / "rung.mp4"
    with joined.open("wb") as target:
        for name, path, _type in files:
            if name.startswith("hls/v240/") and name.endswith((".mp4", ".m4s")):
                target.write(path.read_bytes())
    with av.open(str(joined), format="mp4") as container:
        stream = container.streams.video[0]
        keys = [float(p.pts * p.time_base) for p in container.demux(stream) if p.is_keyframe and p.pts is not None]
    assert [round(k - keys[0], 2) for k in keys] == [0.0, 2.0, 4.0]


def test_no_metadata_survives(small, hd):
    for _source, _meta, files, _reports, _out in (small, hd):
        for _name, path, _type in files:
            data = path.read_bytes()
            assert av_samples.SECRET_TITLE.encode() not in data and av_samples.SECRET_LOCATION.encode() not in data
        init = next(path for name, path, _type in files if name.endswith(".mp4"))
        with av.open(str(init), format="mp4") as container:
            tags = dict(container.metadata)
            for stream in container.streams:
                tags.update(stream.metadata)
        assert "title" not in tags and not any(k.startswith("location") for k in tags), tags


def _difference(a, b):
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def test_the_poster_is_a_representative_frame_not_the_first(hd):
    source, _meta, _files, _reports, out = hd
    with Image.open(out / "poster.jpg") as poster, Image.open(out / "poster.webp") as webp:
        assert poster.size == webp.size == (1280, 720)
        small = poster.convert("RGB").resize((320, 180))
    with av.open(str(source), format="mp4") as container:
        distances = [_difference(small, f.to_image().resize((320, 180))) for f in container.decode(video=0)]
    closest = min(range(len(distances)), key=distances.__getitem__)
    assert closest >= 5 and distances[0] > distances[closest] + 1


def test_the_storyboard_track_points_into_the_sprite(small):
    _source, _meta, _files, _reports, out = small
    text = (out / "storyboard.vtt").read_text()
    assert text.startswith("WEBVTT\n")
    stamp = r"(\d\d:\d\d:\d\d\.\d{3})"
    cues = re.findall(rf"{stamp} --> {stamp}\nstoryboard\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", text)
    assert len(cues) == 6 and cues[0][:2] == ("00:00:00.000", "00:00:01.000")
    with Image.open(out / "storyboard.jpg") as sprite:
        width, height = sprite.size
    for _start, _end, x, y, w, h in cues:
        assert int(w) == 160 and int(x) + int(w) <= width and int(y) + int(h) <= height


def test_progress_is_monotonic_and_reaches_100(small, hd):
    for reports in (small[3], hd[3]):
        assert reports[-1] == 100 and reports == sorted(set(reports))


def test_a_rotated_clip_is_turned_upright(samples, tmp_path_factory):
    source = av_samples.rotated(samples / "upright.mp4", samples)
    meta, _files, _reports, out = _transcode(tmp_path_factory, source)
    assert meta["rungs"] == [240] and (meta["width"], meta["height"]) == (240, 320)
    assert "RESOLUTION=240x320" in (out / "hls/master.m3u8").read_text()
    with Image.open(out / "poster.jpg") as poster:
        assert poster.size == (240, 320)


def test_a_clip_without_sound_and_an_mkv_are_transcoded(samples, tmp_path_factory):
    meta, _files, _reports, out = _transcode(tmp_path_factory, av_samples.silent(samples / "quiet.mp4"))
    assert meta["has_audio"] is False and "mp4a" not in (out / "hls/master.m3u8").read_text()
    meta, files, _reports, _out = _transcode(tmp_path_factory, av_samples.mkv_vp9(samples / "vp9.mkv"), "matroska")
    assert meta["rungs"] == [240] and meta["has_audio"] and _names(files)[-1] == "hls/master.m3u8"


def test_frame_rates_above_60_are_capped(samples, tmp_path_factory, tmp_path):
    source = samples / "fast.mp4"
    av_samples.ffmpeg(*av_samples.picture(160, 120, 1, rate=120), *av_samples.H264, str(source))
    _meta, files, _reports, _out = _transcode(tmp_path_factory, source)
    init, segment = (path for name, path, _type in files if name.endswith((".mp4", ".m4s")))
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(init.read_bytes() + segment.read_bytes())
    with av.open(str(joined), format="mp4") as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 60


def test_the_time_limit_kills_ffmpeg():
    started = time.monotonic()
    with pytest.raises(transcode.TranscodeTimeout) as caught:
        transcode.run([*av_samples.long_lavfi(), "-c:v", "libx264", "-f", "null", "-"], timeout=1)
    assert time.monotonic() - started < 10
    assert caught.value.code == "too_slow" and caught.value.message.endswith(".")


def test_progress_reports_whole_percentages_at_most_once_a_second():
    reports = []
    progress = transcode.Progress(reports.append)
    lines = [b"out_time_us=N/A\n", *(f"out_time_us={t * 100_000}\n".encode() for t in range(1, 101))]
    progress.follow(10.0, 0, 100)(iter(lines))
    assert reports == [1, 100]


def test_the_ffmpeg_binary_can_be_chosen(monkeypatch):
    monkeypatch.setenv("EXPO_FFMPEG", "/opt/ffmpeg/bin/ffmpeg")
    assert transcode.ffmpeg_binary() == "/opt/ffmpeg/bin/ffmpeg"
    monkeypatch.delenv("EXPO_FFMPEG")
    assert "ffmpeg" in transcode.ffmpeg_binary()


def test_time_limit_grows_with_duration():
    assert transcode.time_limit(1) == 120 and transcode.time_limit(3600) == 4 * 3600 + 60


# Audio

def _loudness(path, input_format):
    stderr = transcode.run([*transcode.input_args(path, input_format), "-map", "0:a:0",
                            "-af", "loudnorm=print_format=json", "-f", "null", "-"], 60)
    return json.loads(re.findall(r"\{[^{}]*\}", stderr)[-1])


def test_quiet_audio_is_levelled_to_minus_16_lufs(samples, tmp_path):
    source = av_samples.quiet_wav(samples / "quiet.wav")
    info = probe(source, "audio", "wav", LIMITS)
    reports = []
    meta, files = audio_step.process_audio(source, tmp_path, info, "wav", reports.append)
    assert [name for name, _p, _t in files] == ["audio.m4a", "audio.webm", "waveform.json"]
    assert meta["loudness"]["input_i"] < -30 and meta["loudness"]["output_i"] == pytest.approx(-16, abs=1)
    assert float(_loudness(tmp_path / "audio.m4a", "mp4")["input_i"]) == pytest.approx(-16, abs=1)
    assert float(_loudness(tmp_path / "audio.webm", "webm")["input_i"]) == pytest.approx(-16, abs=1)
    assert reports[-1] == 100 and reports == sorted(set(reports))


def test_audio_outputs_carry_no_tags_and_a_waveform(samples, tmp_path):
    source = av_samples.mp3(samples / "tagged.mp3")
    info = probe(source, "audio", "mp3", LIMITS)
    meta, files = audio_step.process_audio(source, tmp_path, info, "mp3")
    assert meta["duration"] == pytest.approx(3, abs=0.1)
    for _name, path, _type in files:
        assert av_samples.SECRET_ID3.encode() not in path.read_bytes()
    with av.open(str(tmp_path / "audio.m4a"), format="mp4") as container:
        assert "title" not in container.metadata and len(container.streams) == 1
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate) == ("aac", 48000)
    waveform = json.loads((tmp_path / "waveform.json").read_text())
    assert 700 <= len(waveform["peaks"]) <= 810 and all(0 <= p <= 1 for p in waveform["peaks"])
    assert max(waveform["peaks"]) > 0.1 and waveform["duration"] == pytest.approx(3, abs=0.1)


def test_silence_is_converted_without_levelling(samples, tmp_path):
    source = av_samples.silent_wav(samples / "silence.wav")
    meta, files = audio_step.process_audio(source, tmp_path, probe(source, "audio", "wav", LIMITS), "wav")
    assert meta["loudness"]["input_i"] is None and meta["loudness"]["output_i"] is None
    assert [name for name, _p, _t in files] == ["audio.m4a", "audio.webm", "waveform.json"]
    assert set(json.loads((tmp_path / "waveform.json").read_text())["peaks"]) == {0}


# Captions

def test_srt_becomes_plain_webvtt(samples):
    vtt = captions.to_webvtt(b"\xef\xbb\xbf" + av_samples.srt(samples / "c.srt").read_bytes())
    assert vtt.splitlines()[:3] == ["WEBVTT", "", "00:00:01.000 --> 00:00:03.500"]
    assert "Hello visitors &amp; friends" in vtt and "Welcome to the expo\nSecond line" in vtt
    assert "<" not in vtt and "script" not in vtt and "alert" not in vtt


def test_webvtt_is_cleaned():
    source = ("WEBVTT - talk\n\nSTYLE\n::cue { color: red }\n\nNOTE secret note\n\nREGION\nid:r1\n\n"
              "intro\n01:02.5 --> 01:04.000 align:start\n<v Anna>Hi <c.loud>there</c> &lt;3 --></v>\n\n")
    vtt = captions.to_webvtt(source.encode())
    assert vtt == "WEBVTT\n\n00:01:02.500 --> 00:01:04.000\nHi there &lt;3 --&gt;\n"


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02garbage",
    b"just some words",
    "1\n00:00:01,000 --> 00:00:03,000\nlatin é".encode("latin-1"),
    b"1\n00:00:05,000 --> 00:00:03,000\nbackwards\n",
    b"1\n00:00:01,000 --> 00:99:03,000\nbad minutes\n",
    b"x" * (2 * 1024 * 1024 + 1),
    b"".join(f"{i}\n00:00:01,000 --> 00:00:02,000\nx\n\n".encode() for i in range(10_001)),
])
def test_bad_captions_are_refused(data):
    with pytest.raises(MediaRejected) as caught:
        captions.to_webvtt(data)
    assert caught.value.code == "invalid_captions" and caught.value.message.endswith(".")
