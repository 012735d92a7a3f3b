"""Kind detection from content (magic bytes), never from a name or a declared type."""
import re

from media.states import MediaKind

HEAD_BYTES = 64
_SRT = re.compile(rb"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{3}\s*-->")

_IMAGE_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1")


def sniff(head):
    """Return (kind, format) for the first bytes of a file, or (None, None)."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.IMAGE, "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.IMAGE, "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaKind.IMAGE, "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.IMAGE, "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return (MediaKind.IMAGE, "avif") if brand in _IMAGE_BRANDS else (MediaKind.VIDEO, "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MediaKind.VIDEO, "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaKind.AUDIO, "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return MediaKind.VIDEO, "avi"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return MediaKind.AUDIO, "mp3"
    if head.startswith(b"fLaC"):
        return MediaKind.AUDIO, "flac"
    if head.startswith(b"OggS"):
        return MediaKind.AUDIO, "ogg"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return MediaKind.AUDIO, "aac"
    if head.startswith(b"PK\x03\x04"):
        return MediaKind.H5, "zip"
    text = head.removeprefix(b"\xef\xbb\xbf")
    if text.startswith(b"WEBVTT"):
        return MediaKind.CAPTIONS, "vtt"
    if _SRT.match(text):
        return MediaKind.CAPTIONS, "srt"
    return None, None


# A declared kind is accepted when the content is of a kind it may hold.
COMPATIBLE = {
    MediaKind.IMAGE: {MediaKind.IMAGE},
    MediaKind.PANORAMA: {MediaKind.IMAGE},
    MediaKind.VIDEO: {MediaKind.VIDEO},
    MediaKind.AUDIO: {MediaKind.AUDIO},
    MediaKind.H5: {MediaKind.H5},
    MediaKind.CAPTIONS: {MediaKind.CAPTIONS},
}
