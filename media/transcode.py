"""The module that runs ffmpeg (run, with its limits), and the video ladder, poster and storyboard."""
import math
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from media import profiles
from media.probe import MediaRejected, span_text


class TranscodeTimeout(MediaRejected):
    """ffmpeg ran past its wall-clock limit and was killed."""


def ffmpeg_binary():
    """Return the ffmpeg to run: EXPO_FFMPEG if set, else the one shipped with imageio-ffmpeg."""
    return os.environ.get("EXPO_FFMPEG") or imageio_ffmpeg.get_ffmpeg_exe()


def time_limit(duration):
    """Return how many wall-clock seconds one ffmpeg run over DURATION seconds of media may take."""
    return max(120, 4 * (duration or 0) + 60)


def read_limit(duration):
    """Return how many seconds of an input ffmpeg may read when the probe measured DURATION: a little slack only."""
    return duration * 1.01 + 1


def input_args(src, input_format, *before, duration=None):
    """Return the arguments that open SRC as INPUT_FORMAT and nothing else (no protocols, no guessing), reading no
    further than the probed DURATION (seconds) when it is given."""
    # Forcing -f keeps the hls and concat demuxers (which follow URLs inside the file) from ever being chosen.
    # -t: a file whose header says two seconds while its stream runs on for hours would otherwise make ffmpeg
    # encode hours of repeated pictures from a few KB, until the time limit (sized by the header) killed it.
    limit = ["-t", f"{read_limit(duration):.3f}"] if duration else []
    return [*before, *limit, "-protocol_whitelist", "file,pipe", "-f", input_format, "-i", f"file:{src}"]


def _drain(stream):
    """Read and drop ffmpeg's stdout so that it never blocks on a full pipe."""
    while stream.read(65536):
        pass


def _stderr_detail(stderr):
    """Return ffmpeg's last meaningful stderr line with paths and addresses taken out."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and line.strip() != "Conversion failed!"]
    line = lines[-1] if lines else "no reason given"
    line = re.sub(r"\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line)
    line = re.sub(r"(?:file:)?(?:/[^\s'\":,]+)+", "the file", line)
    return line.rstrip(".")[:200]


def run(args, timeout, consume=None):
    """Run ffmpeg ARGS within TIMEOUT seconds, handing its stdout to CONSUME; return its stderr text."""
    argv = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
    expired = threading.Event()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        timer = threading.Timer(timeout, lambda: (expired.set(), process.kill()))
        timer.start()
        try:
            with process.stdout:
                (consume or _drain)(process.stdout)
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
            process.wait()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if expired.is_set() and process.returncode != 0:
        raise TranscodeTimeout("too_slow", f"Converting the file took longer than its limit of {span_text(timeout)}; "
                               "export it at a smaller size or in shorter parts and upload it again.")
    if process.returncode != 0:
        raise MediaRejected("transcode_failed", f"The file could not be converted ({_stderr_detail(stderr)}); "
                            "export it again as MP4 (H.264 and AAC) and upload it again.")
    return stderr


class Progress:
    """Turn ffmpeg's -progress output into whole percentages: monotonic, at most one report a second."""

    def __init__(self, callback):
        self.callback, self.last, self.sent_at = callback, -1, 0.0

    def report(self, percent):
        """Send PERCENT if it is higher than the last and a second has passed (100 always goes)."""
        percent = max(0, min(100, int(percent)))
        now = time.monotonic()
        if self.callback is None or percent <= self.last or (percent < 100 and now - self.sent_at < 1):
            return
        self.last, self.sent_at = percent, now
        self.callback(percent)

    def follow(self, duration, start, end):
        """Return a stdout consumer that maps ffmpeg's out_time onto START..END percent."""
        def consume(stdout):
            for line in stdout:
                key, _, value = line.strip().partition(b"=")
                if key == b"out_time_us" and value.isdigit() and duration > 0:
                    self.report(start + (end - start) * min(1.0, int(value) / 1e6 / duration))
        return consume


def _even(value, ceiling=None):
    """Round VALUE to an even size (x264 needs them), never above CEILING floored to even."""
    even = max(2, int(round(value / 2)) * 2)
    return even if ceiling is None else min(even, max(2, int(ceiling) // 2 * 2))


def ladder(width, height):
    """Return [(rung, width, height)] for a display size: the standard rungs it reaches, never upscaled."""
    short = min(width, height)
    rungs = [r for r in profiles.RUNGS if r <= short] or [_even(short, short)]
    if width >= height:
        return [(rung, _even(width * rung / height, width), rung) for rung in rungs]
    return [(rung, rung, _even(height * rung / width, height)) for rung in rungs]


def _output_fps(info):
    """Return the frame rate of the renditions: the source's, capped at MAX_FPS."""
    return min(info["video"]["fps"] or 30.0, profiles.MAX_FPS)


def _maxrate(rung, width, height, fps, input_bit_rate):
    """Return the peak bit rate of a rung: PeerTube's bits per pixel, never above 1.3× the input."""
    bpp = profiles.BITS_PER_PIXEL.get(rung, profiles.SMALLEST_RUNG_BPP)
    rate = width * height * fps * bpp
    if input_bit_rate:
        rate = min(rate, profiles.MAXRATE_OVER_INPUT * input_bit_rate)
    return int(rate)


def _storyboard_interval(duration):
    """Return the seconds between storyboard thumbnails, so that there are at most ~100 of them."""
    return max(1, math.ceil(duration / profiles.STORYBOARD_MAX_THUMBS))


def _video_filter(sizes, source_fps, duration, display_width, display_height):
    """Return the filter graph: one decode split into every rung and the storyboard thumbnails."""
    head = f"fps={profiles.MAX_FPS}," if source_fps > profiles.MAX_FPS else ""
    labels = "".join(f"[s{i}]" for i in range(len(sizes)))
    chains = [f"[0:V:0]{head}split={len(sizes) + 1}{labels}[sb]"]
    # 0:V skips cover-art "video" streams, as the probe does. One decode feeds every rung;
    # format=yuv420p keeps 10-bit sources on 8-bit High, which every browser plays.
    chains += [f"[s{i}]scale={w}:{h},setsar=1,format=yuv420p[v{i}]" for i, (_r, w, h) in enumerate(sizes)]
    # Thumbnails leave as loose frames, tiled afterwards: a tile output holds back ffmpeg's -progress to the end.
    thumb_height = _even(profiles.STORYBOARD_WIDTH * display_height / display_width)
    chains.append(f"[sb]fps=1/{_storyboard_interval(duration)},scale={profiles.STORYBOARD_WIDTH}:{thumb_height},"
                  "setsar=1[thumbs]")
    return ";".join(chains)


def _encoder_args(sizes, fps, input_bit_rate, has_audio):
    """Return the -map and encoder options of every rung (H.264 capped CRF, aligned GOPs, AAC)."""
    gop = max(1, round(fps * profiles.GOP_SECONDS))
    args = []
    for i, (rung, width, height) in enumerate(sizes):
        maxrate = _maxrate(rung, width, height, fps, input_bit_rate)
        args += ["-map", f"[v{i}]", f"-maxrate:v:{i}", str(maxrate),
                 f"-bufsize:v:{i}", str(maxrate * profiles.BUFSIZE_OVER_MAXRATE)]
    if has_audio:
        args += [arg for _size in sizes for arg in ("-map", "0:a:0")]
        args += ["-c:a", "aac", "-b:a", profiles.AUDIO_BITRATE, "-ar", str(profiles.AUDIO_SAMPLE_RATE),
                 "-ac", str(profiles.AUDIO_CHANNELS)]
    # Keyframes every GOP_SECONDS on every rung (forced, no scene cuts, closed GOPs) so players can switch anywhere.
    return args + ["-c:v", "libx264", "-profile:v", profiles.H264_PROFILE, "-preset", profiles.X264_PRESET,
                   "-crf", str(profiles.CRF), "-g", str(gop), "-keyint_min", str(gop),
                   "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,n_forced*{profiles.GOP_SECONDS})",
                   "-flags", "+cgop"]


def _hls_args(out_dir, sizes, has_audio):
    """Return the HLS muxer options: fMP4 segments and a playlist per rung, then the master."""
    streams = " ".join(f"v:{i}" + (f",a:{i}" if has_audio else "") + f",name:{rung}"
                       for i, (rung, _w, _h) in enumerate(sizes))
    # hlsenc only expands %v in the init name when there are two variants or more.
    init = "init_%v.mp4" if len(sizes) > 1 else f"init_{sizes[0][0]}.mp4"
    return ["-map_metadata", "-1", "-map_chapters", "-1", "-f", "hls", "-hls_time", str(profiles.SEGMENT_SECONDS),
            "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod",
            "-hls_flags", "independent_segments+temp_file", "-hls_fmp4_init_filename", init,
            "-hls_segment_filename", str(out_dir / "hls" / "v%v" / "seg_%05d.m4s"),
            "-master_pl_name", "master.m3u8", "-var_stream_map", streams, str(out_dir / "hls" / "v%v" / "index.m3u8")]


# Pictures carry no "Lavc…" comment naming the encoder's version: nothing about the server goes out with them.
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact"]


def _still_args(label, path, *codec):
    """Return the options that write one picture from filter output LABEL to PATH."""
    return ["-map", label, "-frames:v", "1", "-update", "1", "-map_metadata", "-1", "-map_chapters", "-1",
            *BITEXACT, *codec, str(path)]


def transcode_video(src, out_dir, info, input_format, on_progress=None):
    """Make the HLS ladder, poster and storyboard of the probed video SRC in OUT_DIR; return (meta, files)."""
    out_dir = Path(out_dir).resolve()
    video, duration = info["video"], info["duration"]
    sizes = ladder(video["width"], video["height"])
    has_audio = info.get("audio") is not None
    progress = Progress(on_progress)
    progress.report(0)
    # The outputs stop at the probed duration too: a filter (fps) still fills a gap up to the end of the stream.
    limit = ["-t", f"{read_limit(duration):.3f}"]
    with tempfile.TemporaryDirectory(prefix="expo-thumbs-") as thumbs:
        args = ["-progress", "pipe:1", *input_args(src, input_format, duration=duration),
                "-filter_complex", _video_filter(sizes, video["fps"], duration, video["width"], video["height"]),
                *_encoder_args(sizes, _output_fps(info), info.get("bit_rate"), has_audio), *limit,
                *_hls_args(out_dir, sizes, has_audio),
                "-map", "[thumbs]", "-map_metadata", "-1", *BITEXACT, "-q:v", "2", *limit,
                str(Path(thumbs) / "t_%05d.jpg")]
        run(args, time_limit(duration), progress.follow(duration, 0, 95))
        _storyboard(sorted(Path(thumbs).glob("t_*.jpg")), out_dir, duration)
    _poster(src, out_dir, info, input_format)
    progress.report(100)
    meta = {"width": video["width"], "height": video["height"], "duration": duration,
            "rungs": [rung for rung, _w, _h in sizes], "has_audio": has_audio}
    return meta, ordered_files(out_dir)


def _poster(src, out_dir, info, input_format):
    """Write poster.jpg and poster.webp from the most representative keyframe of those a fifth of the way in."""
    video, duration = info["video"], info["duration"]
    width = min(profiles.POSTER_WIDTH, video["width"])
    height = _even(video["height"] * width / video["width"])
    # thumbnail picks the frame closest to the average of its batch, which skips black and flash frames.
    graph = (f"[0:V:0]thumbnail=n={profiles.POSTER_CANDIDATES},scale={width}:{height},setsar=1,"
             "split=2[jpg][webp]")
    # Keyframes only, so a candidate costs one decode rather than a whole GOP's. A clip with no keyframe after
    # the seek point gives nothing: then every frame from there; a duration that overstates the stream: from 0.
    seek = duration * profiles.POSTER_AT
    for start, skip in ((seek, ["-skip_frame", "nokey"]), (seek, []), (0, [])):
        try:
            # -y: an attempt that failed may have left one of the two files behind.
            run(["-y", *input_args(src, input_format, *skip, "-ss", f"{start:.3f}", duration=duration),
                 "-filter_complex", graph,
                 *_still_args("[jpg]", out_dir / "poster.jpg", "-q:v", "3"),
                 *_still_args("[webp]", out_dir / "poster.webp", "-c:v", "libwebp", "-quality", "80")],
                time_limit(min(duration, 60)))
        except TranscodeTimeout:
            raise
        except MediaRejected:
            continue
        if (out_dir / "poster.jpg").exists() and (out_dir / "poster.webp").exists():
            return
    raise MediaRejected("transcode_failed", "No poster picture could be taken from the video; export it again as "
                        "MP4 (H.264 and AAC) and upload it again.")


def _timestamp(seconds):
    """Return SECONDS as a WebVTT timestamp (HH:MM:SS.mmm)."""
    millis = int(round(seconds * 1000))
    return f"{millis // 3600000:02d}:{millis // 60000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def _storyboard(thumbs, out_dir, duration):
    """Tile THUMBS into storyboard.jpg and write storyboard.vtt, a WebVTT track whose cues point into it."""
    interval = _storyboard_interval(duration)
    thumbs = thumbs[:max(1, math.ceil(duration / interval))]
    if not thumbs:
        raise MediaRejected("transcode_failed", "No pictures could be taken from the video; export it again as "
                            "MP4 (H.264 and AAC) and upload it again.")
    with Image.open(thumbs[0]) as first:
        width, height = first.size
    columns = min(len(thumbs), profiles.STORYBOARD_COLUMNS)
    cues = ["WEBVTT", ""]
    with Image.new("RGB", (columns * width, math.ceil(len(thumbs) / columns) * height)) as sprite:
        for i, path in enumerate(thumbs):
            x, y = (i % columns) * width, (i // columns) * height
            with Image.open(path) as thumb:
                sprite.paste(thumb, (x, y))
            start, end = i * interval, duration if i == len(thumbs) - 1 else (i + 1) * interval
            cues += [f"{_timestamp(start)} --> {_timestamp(end)}", f"storyboard.jpg#xywh={x},{y},{width},{height}",
                     ""]
        sprite.save(out_dir / "storyboard.jpg", "JPEG", quality=75, optimize=True)
    (out_dir / "storyboard.vtt").write_text("\n".join(cues), encoding="utf-8")


def _rank(relative):
    """Order files so that every playlist comes after the files it names, and the master playlist last."""
    if relative == "hls/master.m3u8":
        return 3
    if relative.endswith(".m3u8"):
        return 2
    return 1 if relative.endswith(".vtt") else 0


def ordered_files(out_dir):
    """Return [(relative_name, path, content_type)] for every file under OUT_DIR, in the order to store them."""
    found = []
    for path in sorted(Path(out_dir).rglob("*")):
        if path.is_file():
            relative = path.relative_to(out_dir).as_posix()
            found.append((relative, path, profiles.CONTENT_TYPES.get(path.suffix, "application/octet-stream")))
    return sorted(found, key=lambda item: (_rank(item[0]), item[0]))


def synthesize(path, seconds, video=None):
    """Write a generated test-pattern clip (VIDEO=(width, height)) or tone to PATH, for the demo expo."""
    tone = ["-f", "lavfi", "-i", f"sine=frequency=330:beep_factor=4:sample_rate=48000:duration={seconds}"]
    picture = ["-f", "lavfi", "-i", f"testsrc2=size={video[0]}x{video[1]}:rate=25:duration={seconds}"] if video else []
    codecs = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"] if video else []
    audio = ["-c:a", "aac", "-b:a", "128k"] if str(path).endswith((".mp4", ".m4a")) else ["-c:a", "libmp3lame"]
    run([*picture, *tone, *codecs, *audio, "-shortest", "-y", str(path)], time_limit(seconds))
