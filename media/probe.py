"""Probe an uploaded video or audio file with PyAV: allow-lists, limits and a test decode, before any transcoding."""
import os
import struct
from fractions import Fraction

import av

from media import profiles

TEST_DECODE_SECONDS = 2.0
MAX_TEST_PACKETS = 20_000


class MediaRejected(Exception):
    """The media cannot be accepted; `message` tells the exhibitor what to change."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def span_text(seconds):
    """Say a limit in minutes or hours, the way people count running time."""
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds >= 60:
        minutes = round(seconds / 60)
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    seconds = round(seconds)
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def _mp4_lacks_index(path):
    """Return True if PATH is an MP4 whose top-level boxes end after the media data but before any moov box."""
    kinds = []
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        offset = 0
        while offset + 8 <= size:
            file.seek(offset)
            length, kind = struct.unpack(">I4s", file.read(8))
            kinds.append(kind)
            if length == 1:
                length = struct.unpack(">Q", file.read(8))[0]
            elif length == 0:
                length = size - offset
            if length < 8:
                break
            offset += length
    return kinds[:1] == [b"ftyp"] and b"mdat" in kinds and b"moov" not in kinds


def _open(path, kind, input_format):
    """Open PATH with PyAV as INPUT_FORMAT (file protocol only), or raise MediaRejected."""
    allowed = profiles.VIDEO_CONTAINERS if kind == "video" else profiles.AUDIO_CONTAINERS
    if input_format not in allowed:
        raise MediaRejected("unsupported_container", f"This kind of file ({input_format}) is not accepted as {kind}; "
                            f"upload {_allowed_text(kind)}.")
    try:
        return av.open(str(path), format=input_format, options={"protocol_whitelist": "file"})
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        if input_format in ("mp4", "mov", "m4a", "3gp") and _mp4_lacks_index(path):
            raise MediaRejected("unreadable_media", f"The file ends before its {kind} index; re-export it from "
                                "your editor and upload it again.") from error
        raise MediaRejected("unreadable_media", f"The file is damaged or is not really a {kind} file we can read; "
                            f"export it again as {_allowed_text(kind)} and upload it again.") from error


def _allowed_text(kind):
    """Return the formats a person may upload for KIND, in words."""
    return profiles.VIDEO_ALLOWED_TEXT if kind == "video" else profiles.AUDIO_ALLOWED_TEXT


def _pick_streams(container, kind):
    """Return (video, audio) streams, skipping cover art; refuse a file without the stream KIND needs."""
    video = next((s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
                 None) if kind == "video" else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if kind == "video" and video is None:
        raise MediaRejected("no_video_stream", "The file has no video picture in it; upload a video file, or "
                            "upload it as audio if it is a recording of sound only.")
    if kind == "audio" and audio is None:
        raise MediaRejected("no_audio_stream", "The file has no sound in it; upload an audio file: "
                            f"{profiles.AUDIO_ALLOWED_TEXT}.")
    return video, audio


def _codec(stream, allowed, kind):
    """Return the codec name of STREAM if it is in ALLOWED, or raise MediaRejected."""
    name = stream.codec_context.codec.canonical_name
    if name not in allowed:
        raise MediaRejected("unsupported_codec", f"The {stream.type} is encoded as {name}, which is not accepted; "
                            f"export it again as {_allowed_text(kind)}.")
    return name


def _duration(container, streams):
    """Return the running time in seconds, from the container or else the longest stream."""
    if container.duration:
        return container.duration / av.time_base
    spans = [float(s.duration * s.time_base) for s in streams if s is not None and s.duration and s.time_base]
    return max(spans, default=0.0)


def _test_decode(container, video, audio):
    """Decode the first seconds of each stream; return the first video frame (for its rotation) or None."""
    wanted = [s for s in (video, audio) if s is not None]
    if video is not None:
        video.thread_type = "AUTO"  # frame threads: a 4K test decode on one core takes seconds
    done, decoded, first = set(), set(), None
    for count, packet in enumerate(container.demux(wanted)):
        index = packet.stream.index
        if index in done:
            continue
        for frame in packet.decode():
            decoded.add(index)
            first = frame if first is None and packet.stream is video else first
            if frame.time is not None and frame.time >= TEST_DECODE_SECONDS:
                done.add(index)
        # A stream that never yields a frame must not make us read a whole multi-GB file.
        if packet.pts is not None and packet.time_base and packet.pts * packet.time_base > 3 * TEST_DECODE_SECONDS:
            done.add(index)
        if len(done) == len(wanted) or count > MAX_TEST_PACKETS:
            break
    missing = [s.type for s in wanted if s.index not in decoded]
    if missing:
        raise MediaRejected("undecodable_media", f"The {missing[0]} in the file cannot be decoded; it is damaged or "
                            "cut short. Export it again and upload it again.")
    return first


def _video_info(stream, frame):
    """Return the codec, display size, frame rate and rotation of the video STREAM."""
    width, height = stream.codec_context.width, stream.codec_context.height
    sar = stream.sample_aspect_ratio
    if sar and Fraction(sar) != 1:
        width = round(width * Fraction(sar))
    rotation = int(round(frame.rotation)) % 360 if frame is not None else 0
    if rotation in (90, 270):
        width, height = height, width
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = round(float(rate), 3) if rate else 0.0
    return {"codec": _codec(stream, profiles.VIDEO_CODECS, "video"), "width": width, "height": height,
            "fps": fps, "rotation": rotation}


def _check_limits(info, limits):
    """Refuse media longer, larger or faster than LIMITS."""
    if info["duration"] > limits["max_seconds"]:
        raise MediaRejected("too_long", f"The recording runs {span_text(info['duration'])}; the limit is "
                            f"{span_text(limits['max_seconds'])}. Trim it or split it into parts.")
    video = info["video"]
    if video is None:
        return
    if max(video["width"], video["height"]) > limits["max_side"]:
        raise MediaRejected("too_large_frame", f"The picture is {video['width']}×{video['height']} pixels; the "
                            f"longest side may be at most {limits['max_side']}. Export it at a smaller size.")
    if video["fps"] > limits["max_fps"]:
        raise MediaRejected("too_many_fps", f"The video has {video['fps']:g} frames a second; the limit is "
                            f"{limits['max_fps']}. Export it at {limits['max_fps']} fps or fewer.")


def probe(path, kind, input_format, limits):
    """Check the KIND ("video" or "audio") file at PATH, read as INPUT_FORMAT, against LIMITS; return what it holds."""
    container = _open(path, kind, input_format)
    try:
        return _probe(container, path, kind, input_format, limits)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise MediaRejected("undecodable_media", "The file is damaged or cut short and cannot be decoded; export it "
                            "again and upload it again.") from error
    finally:
        container.close()


def _probe(container, path, kind, input_format, limits):
    """Check and describe an open CONTAINER (see probe)."""
    video, audio = _pick_streams(container, kind)
    if audio is not None:
        _codec(audio, profiles.AUDIO_CODECS, kind)
    if video is not None:
        _codec(video, profiles.VIDEO_CODECS, kind)
    info = {"duration": _duration(container, (video, audio)), "format": input_format,
            "size": os.path.getsize(path), "bit_rate": container.bit_rate or None, "video": None, "audio": None}
    if info["duration"] <= 0:
        raise MediaRejected("unreadable_media", f"The file does not say how long it runs; export it again as "
                            f"{_allowed_text(kind)} and upload it again.")
    if video is not None:
        info["video"] = _video_info(video, None)
    _check_limits(info, limits)
    first = _test_decode(container, video, audio)
    if video is not None:
        info["video"] = _video_info(video, first)
        _check_limits(info, limits)
    if audio is not None:
        info["audio"] = {"codec": audio.codec_context.codec.canonical_name,
                         "sample_rate": audio.codec_context.sample_rate,
                         "channels": audio.codec_context.layout.nb_channels}
    return info
