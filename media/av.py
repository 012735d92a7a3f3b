"""Audio, video and captions: the bridge from a processing run to the probe and to ffmpeg."""
from media import audio, captions, probe, profiles, transcode
from media.processing import Permanent
from media.states import MediaKind


def _captions(source, out):
    text = captions.to_webvtt(source.read_bytes())
    path = out / "captions.vtt"
    path.write_text(text, encoding="utf-8")
    return {"cues": text.count(" --> ")}, [("captions.vtt", path, "text/vtt")]


def _limits(kind, config):
    prefix = "EXPO_MAX_VIDEO" if kind == MediaKind.VIDEO else "EXPO_MAX_AUDIO"
    return {"max_seconds": config[f"{prefix}_SECONDS"], "max_side": config["EXPO_MAX_VIDEO_SIDE"],
            "max_fps": config["EXPO_MAX_VIDEO_FPS"]}


def process(kind, source, out, source_format, config, report):
    """Validate and process an audio, video or captions upload; return (meta, files) or raise Permanent."""
    try:
        if kind == MediaKind.CAPTIONS:
            return _captions(source, out)
        input_format = profiles.INPUT_FORMATS.get(source_format)
        if input_format is None:
            allowed = profiles.VIDEO_ALLOWED_TEXT if kind == MediaKind.VIDEO else profiles.AUDIO_ALLOWED_TEXT
            raise Permanent("unsupported_container", f"This {kind} file's container is not accepted; upload {allowed}.")
        info = probe.probe(source, str(kind), input_format, _limits(kind, config))
        if kind == MediaKind.VIDEO:
            meta, files = transcode.transcode_video(source, out, info, input_format, report)
        else:
            meta, files = audio.process_audio(source, out, info, input_format, report)
    except probe.MediaRejected as error:
        raise Permanent(error.code, error.message) from error
    return meta, files
