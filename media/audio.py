"""Audio: two-pass EBU R128 loudness levelling to AAC and Opus, and the waveform peaks, through transcode.run."""
import json
import math
import re
import sys
from array import array
from pathlib import Path

from media import profiles
from media.probe import MediaRejected
from media.transcode import Progress, input_args, ordered_files, run, time_limit


def _loudnorm(measured=None):
    """Return the loudnorm filter: measuring, or (given MEASURED) applying it linearly."""
    target = profiles.LOUDNESS_TARGET
    options = f"I={target['I']:g}:TP={target['TP']:g}:LRA={target['LRA']:g}:print_format=json"
    if measured:
        options += (f":measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
                    f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
                    f":offset={measured['target_offset']}:linear=true")
    # Mix to stereo before measuring: an upmix after levelling would make mono sources 3 LU too loud.
    return f"aformat=channel_layouts=stereo,loudnorm={options}"


def _loudnorm_report(stderr):
    """Return the JSON block loudnorm prints on stderr, or raise MediaRejected."""
    blocks = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if not blocks:
        raise MediaRejected("transcode_failed", "The sound could not be measured; export it again as "
                            f"{profiles.AUDIO_ALLOWED_TEXT} and upload it again.")
    return json.loads(blocks[-1])


def _number(value):
    """Return loudnorm's VALUE (a string, maybe "-inf") as a rounded float, or None when it is not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 2) if math.isfinite(number) else None


def _audio_outputs(out_dir):
    """Return the options that write audio.m4a (AAC) and audio.webm (Opus) without tags."""
    common = ["-map_metadata", "-1", "-map_chapters", "-1", "-ar", str(profiles.AUDIO_SAMPLE_RATE),
              "-ac", str(profiles.AUDIO_CHANNELS)]
    return ["-map", "[aac]", *common, "-c:a", "aac", "-b:a", profiles.AUDIO_BITRATE, "-movflags", "+faststart",
            str(out_dir / "audio.m4a"),
            "-map", "[opus]", *common, "-c:a", "libopus", "-b:a", profiles.OPUS_BITRATE, str(out_dir / "audio.webm")]


def process_audio(src, out_dir, info, input_format, on_progress=None):
    """Level the probed audio SRC to -16 LUFS in two loudnorm passes; write AAC, Opus and a waveform to OUT_DIR."""
    out_dir = Path(out_dir).resolve()
    duration, limit = info["duration"], time_limit(info["duration"])
    progress = Progress(on_progress)
    progress.report(0)
    source = ["-progress", "pipe:1", *input_args(src, input_format, duration=duration)]
    measured = _loudnorm_report(run([*source, "-map", "0:a:0", "-af", _loudnorm(), "-f", "null", "-"],
                                    limit, progress.follow(duration, 0, 45)))
    level = _number(measured["input_i"])
    audible = level is not None and level > -70
    # Silence measures -inf and cannot be levelled; it is only converted.
    levelling = _loudnorm(measured) if audible else "aformat=channel_layouts=stereo"
    graph = f"[0:a:0]{levelling},aresample={profiles.AUDIO_SAMPLE_RATE},asplit=2[aac][opus]"
    stderr = run([*source, "-filter_complex", graph, *_audio_outputs(out_dir)], limit,
                 progress.follow(duration, 45, 95))
    output = _loudnorm_report(stderr) if audible else {}
    _write_waveform(out_dir / "audio.m4a", out_dir / "waveform.json", duration)
    progress.report(100)
    loudness = {key: _number(measured.get(key)) for key in ("input_i", "input_tp", "input_lra")}
    loudness.update({key: _number(output.get(key)) for key in ("output_i", "output_tp")})
    return {"duration": duration, "loudness": loudness}, ordered_files(out_dir)


class _Peaks:
    """Keep the largest absolute sample of every PER samples of s16le PCM, read chunk by chunk."""

    def __init__(self, per):
        self.per, self.peaks, self.current, self.filled = per, [], 0, 0

    def __call__(self, stdout):
        """Consume ffmpeg's PCM output from STDOUT."""
        carry = b""
        while chunk := stdout.read(1 << 16):
            data = carry + chunk
            usable = len(data) - len(data) % 2
            carry = data[usable:]
            samples = array("h", data[:usable])
            if sys.byteorder == "big":
                samples.byteswap()
            self._add(samples)
        if self.filled:
            self.peaks.append(self.current)

    def _add(self, samples):
        """Fold SAMPLES into the current bucket, closing it every PER samples."""
        start = 0
        while start < len(samples):
            part = samples[start:start + self.per - self.filled]
            self.current = max(self.current, max(part), -min(part))
            self.filled += len(part)
            start += len(part)
            if self.filled == self.per:
                self.peaks.append(self.current)
                self.current = self.filled = 0


def _write_waveform(audio, target, duration):
    """Write ~800 peaks in 0..1 of AUDIO, decoded to 8 kHz mono through a pipe, as waveform.json."""
    peaks = _Peaks(max(1, math.ceil(duration * profiles.WAVEFORM_RATE / profiles.WAVEFORM_PEAKS)))
    run([*input_args(audio, "mp4"), "-map", "0:a:0", "-ac", "1", "-ar", str(profiles.WAVEFORM_RATE),
         "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"], time_limit(duration), peaks)
    values = [round(min(1.0, peak / 32768), 4) for peak in peaks.peaks]
    target.write_text(json.dumps({"peaks": values, "duration": round(duration, 3)}), encoding="utf-8")
