"""Generated media for the tests: small files made on the spot, never committed."""
import io
import struct
import zlib

from PIL import Image


def jpeg(width=1200, height=800, orientation=None, gps=False, color=(200, 60, 40), **extra):
    """Return JPEG bytes, optionally with an EXIF orientation and a GPS position."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 40):
        image.paste((20, 20, 20), (x, 0, min(x + 10, width), height // 4))
    exif = Image.Exif()
    exif[0x010F] = "TestCam Maker"
    exif[0x0131] = "SecretSoftware 1.0"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 2.5), 3: "E", 4: (121.0, 28.0, 9.1)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90, **extra)
    return out.getvalue()


def png(width=400, height=300, alpha=False):
    image = Image.new("RGBA" if alpha else "RGB", (width, height), (10, 120, 200, 128) if alpha else (10, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width, height):
    """Return a tiny PNG whose header claims WIDTH×HEIGHT pixels (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def truncated_jpeg():
    data = jpeg(800, 600)
    return data[: len(data) // 3]
