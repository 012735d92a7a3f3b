"""Lossless metadata removal for images that are served as uploaded (the files of an H5 bundle).

Renditions are re-encoded without metadata; a bundle's own images are served byte for byte, so their EXIF, XMP,
IPTC, comments and text chunks (GPS positions, names, serial numbers) are cut out here, leaving the pixels untouched.
Files are streamed segment by segment: the pixel data is copied in pieces, never read whole.
"""
import os
import struct

from PIL import Image

PIECE = 64 * 1024
# JPEG markers kept before the scan: JFIF (APP0), ICC profile and multi-picture index (APP2), Adobe colour (APP14),
# and the frame's own tables. Everything else that carries an application payload (APP1 EXIF/XMP, APP13 IPTC,
# APP3–APP12, APP15) and comments (COM) goes.
_JPEG_KEEP_APP = {0xE0, 0xE2, 0xEE}
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_WEBP_DROP = {b"EXIF", b"XMP "}
_VP8X_METADATA = 0x08 | 0x04  # the EXIF and XMP flags


class Damaged(ValueError):
    """The image's structure could not be walked; it cannot be cleaned safely."""


def _read(src, count):
    data = src.read(count)
    if len(data) != count:
        raise Damaged("the file ends inside a segment")
    return data


def _copy(src, out, count):
    while count:
        piece = _read(src, min(count, PIECE))
        out.write(piece)
        count -= len(piece)


def _orientation_segment(path):
    """Return an APP1 segment holding only the EXIF orientation (so an upright display survives), or b""."""
    try:
        with Image.open(path) as image:
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError):
        return b""
    if orientation not in range(2, 9):
        return b""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = b"Exif\x00\x00" + exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _jpeg(src, out, path):
    if _read(src, 2) != b"\xff\xd8":
        raise Damaged("no JPEG start marker")
    out.write(b"\xff\xd8" + _orientation_segment(path))
    while True:
        prefix, marker = _read(src, 2)
        while marker == 0xFF:  # fill bytes before a marker
            marker = _read(src, 1)[0]
        if prefix != 0xFF:
            raise Damaged("a JPEG segment does not start with a marker")
        if marker in (0x01, *range(0xD0, 0xD8)):
            out.write(bytes((0xFF, marker)))
            continue
        if marker == 0xD9:
            out.write(b"\xff\xd9")
            return
        length = struct.unpack(">H", _read(src, 2))[0]
        if length < 2:
            raise Damaged("a JPEG segment has an impossible length")
        if marker == 0xFE or (0xE0 <= marker <= 0xEF and marker not in _JPEG_KEEP_APP):
            src.seek(length - 2, os.SEEK_CUR)
            continue
        out.write(bytes((0xFF, marker)) + struct.pack(">H", length))
        _copy(src, out, length - 2)
        if marker == 0xDA:  # start of scan: the entropy-coded data and whatever follows are pixels
            while piece := src.read(PIECE):
                out.write(piece)
            return


def _png(src, out, _path):
    signature = _read(src, 8)
    if signature != b"\x89PNG\r\n\x1a\n":
        raise Damaged("no PNG signature")
    out.write(signature)
    while True:
        head = src.read(8)
        if not head:
            return
        if len(head) != 8:
            raise Damaged("the file ends inside a chunk header")
        length, kind = struct.unpack(">L4s", head)
        if kind in _PNG_DROP:
            src.seek(length + 4, os.SEEK_CUR)
            continue
        out.write(head)
        _copy(src, out, length + 4)
        if kind == b"IEND":
            return


def _webp(src, out, _path):
    riff, _size, webp = struct.unpack("<4sL4s", _read(src, 12))
    if riff != b"RIFF" or webp != b"WEBP":
        raise Damaged("no WebP header")
    out.write(b"RIFF\x00\x00\x00\x00WEBP")
    written = 4
    while head := src.read(8):
        if len(head) != 8:
            raise Damaged("the file ends inside a chunk header")
        kind, length = struct.unpack("<4sL", head)
        padded = length + (length & 1)
        if kind in _WEBP_DROP:
            src.seek(padded, os.SEEK_CUR)
            continue
        out.write(head)
        if kind == b"VP8X" and length >= 1:
            out.write(bytes((_read(src, 1)[0] & ~_VP8X_METADATA & 0xFF,)))
            _copy(src, out, padded - 1)
        else:
            _copy(src, out, padded)
        written += 8 + padded
    out.seek(4)
    out.write(struct.pack("<L", written))


WALKERS = {"image/jpeg": _jpeg, "image/png": _png, "image/webp": _webp}


def strip_in_place(path, content_type):
    """Cut the metadata out of the image at PATH if CONTENT_TYPE is one we walk; raise Damaged if it cannot be."""
    walker = WALKERS.get(content_type)
    if walker is None:
        return False
    cleaned = f"{path}.clean"
    try:
        with open(path, "rb") as src, open(cleaned, "wb") as out:
            walker(src, out, path)
        os.replace(cleaned, path)
    except (ValueError, struct.error) as error:  # Damaged is a ValueError
        os.unlink(cleaned)
        raise Damaged(str(error)) from None
    return True
