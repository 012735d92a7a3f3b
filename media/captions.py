"""Captions: accept SRT or WebVTT, re-emit a clean WebVTT of plain-text cues with checked times."""
import html
import re

from media.probe import MediaRejected

MAX_BYTES = 2 * 1024 * 1024
MAX_CUES = 10_000
_TIME = re.compile(r"^(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[,.](\d{1,3})$")
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t].*)?$")
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z0-9][^<>]*>")
_ASS = re.compile(r"\{\\[^{}]*\}")  # {\an8}-style overrides some SRT editors write
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORMATS = "Upload captions as an SRT or WebVTT file saved as UTF-8."


def _refuse(message):
    """Raise MediaRejected("invalid_captions") with MESSAGE."""
    raise MediaRejected("invalid_captions", message)


def _decode(data):
    """Return DATA as text with Unix newlines, refusing it if too large or not UTF-8."""
    if len(data) > MAX_BYTES:
        _refuse(f"The captions file is larger than {MAX_BYTES // (1024 * 1024)} MB; split the video's captions "
                "or remove styling, then upload it again.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse(f"The captions file is not UTF-8 text. {_FORMATS}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _seconds(stamp, number):
    """Return an SRT or WebVTT timestamp as seconds, or refuse cue NUMBER."""
    match = _TIME.match(stamp)
    if not match or int(match.group(3)) > 59 or (match.group(1) is not None and int(match.group(2)) > 59):
        _refuse(f"Cue {number} has a time we cannot read ({stamp[:20]!r}); write times as 00:01:02,500 (SRT) "
                "or 00:01:02.500 (WebVTT).")
    hours, minutes, seconds, fraction = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _stamp(seconds):
    """Return SECONDS as a WebVTT timestamp (HH:MM:SS.mmm)."""
    millis = int(round(seconds * 1000))
    return f"{millis // 3600000:02d}:{millis // 60000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def _plain(lines):
    """Return cue text with every tag, script and override removed, and <, > and & escaped."""
    text = _SCRIPT.sub("", "\n".join(lines))
    text = html.unescape(_ASS.sub("", _TAG.sub("", text)))
    text = _CONTROL.sub("", text)
    kept = [line.strip() for line in text.split("\n") if line.strip()]
    return "\n".join(html.escape(line, quote=False) for line in kept)


def _blocks(text):
    """Return the blank-line separated blocks that may be cues (no header, NOTE, STYLE, REGION)."""
    lines = text.split("\n")
    vtt = bool(_HEADER.match(lines[0].strip()))
    if not vtt and not re.search(r"-->", text[:4096]):
        _refuse(f"The file is not captions: it has no cue times like 00:00:01,000 --> 00:00:03,000. {_FORMATS}")
    blocks = [block.split("\n") for block in re.split(r"\n[ \t]*\n", text.strip()) if block.strip()]
    if vtt:
        blocks = [b for b in blocks[1:] if not re.match(r"^(NOTE|STYLE|REGION)(\s|$)", b[0])]
    return blocks


def _cue(block, number):
    """Return (start, end, text) of one block, or None if it holds no cue."""
    at = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
    if at is None:
        return None
    timing = _TIMING.match(block[at].strip())
    if not timing:
        _refuse(f"Cue {number} has a timing line we cannot read; write it as 00:00:01,000 --> 00:00:03,000.")
    start, end = _seconds(timing.group(1), number), _seconds(timing.group(2), number)
    if end < start:
        _refuse(f"Cue {number} ends ({_stamp(end)}) before it starts ({_stamp(start)}); fix its times and upload "
                "the captions again.")
    text = _plain(block[at + 1:])
    return (start, end, text) if text and end > start else None


def to_webvtt(data: bytes) -> str:
    """Return SRT or WebVTT DATA as clean WebVTT: checked times, plain-text cues, no styling blocks."""
    blocks = _blocks(_decode(data))
    if len(blocks) > MAX_CUES:
        _refuse(f"The captions have {len(blocks)} cues; the limit is {MAX_CUES:,}. Split them and upload again.")
    cues = [cue for number, block in enumerate(blocks, 1) if (cue := _cue(block, number))]
    if not cues:
        _refuse(f"The file holds no captions with text and times. {_FORMATS}")
    out = ["WEBVTT", ""]
    for start, end, text in cues:
        out += [f"{_stamp(start)} --> {_stamp(end)}", text, ""]
    return "\n".join(out)
