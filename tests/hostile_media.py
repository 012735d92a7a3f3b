"""A corpus of hostile uploads, generated on the spot (small files only, never committed).

Three classes: files that try to make ffmpeg read local files or reach the network, resource bombs that claim far
more than they hold, and archive tricks against the H5 bundle validator.
"""
import io
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from tests import av_samples, samples

# Local files and request forgery through ffmpeg


def hls_playlist(*uris, key_uri=None):
    """Return an HLS media playlist whose segments are URIS (and whose AES key, if any, comes from KEY_URI)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", "#EXT-X-MEDIA-SEQUENCE:0"]
    if key_uri:
        lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{key_uri}",IV=0x00000000000000000000000000000000')
    for uri in uris:
        lines += ["#EXTINF:1,", "#EXT-X-BYTERANGE:4096@0", uri]
    return ("\n".join([*lines, "#EXT-X-ENDLIST", ""])).encode()


def dash_manifest(base_url):
    """Return a DASH manifest (ffmpeg detects it by content, whatever the file's name) reading BASE_URL."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static"
     mediaPresentationDuration="PT1S" minBufferTime="PT1S">
 <Period><AdaptationSet mimeType="video/mp4">
  <Representation id="1" bandwidth="1000" width="64" height="48" codecs="avc1.42c00a">
   <BaseURL>{base_url}</BaseURL>
  </Representation>
 </AdaptationSet></Period>
</MPD>
""".encode()


def ffconcat(*paths):
    """Return an ffconcat script that joins PATHS (ffmpeg detects it by content)."""
    return ("ffconcat version 1.0\n" + "".join(f"file '{path}'\n" for path in paths)).encode()


def sdp(host, port):
    """Return a session description that would make ffmpeg open RTP sockets towards HOST:PORT."""
    return (f"v=0\no=- 0 0 IN IP4 {host}\ns=hostile\nc=IN IP4 {host}\nt=0 0\n"
            f"m=video {port} RTP/AVP 96\na=rtpmap:96 H264/90000\n").encode()


def id3_wrapped(body):
    """Return BODY behind an empty ID3v2 tag: it sniffs as MP3, and ffmpeg's prober skips ID3 tags."""
    padding = 16
    size = bytes((padding >> shift) & 0x7F for shift in (21, 14, 7, 0))  # a syncsafe integer
    return b"ID3\x03\x00\x00" + size + bytes(padding) + body


def ftyp_wrapped(body):
    """Return BODY behind an MP4 'ftyp' box: it sniffs as MP4."""
    brand = b"isom\x00\x00\x02\x00isomiso2mp41"
    return struct.pack(">I", 8 + len(brand)) + b"ftyp" + brand + body


def _chunk(fourcc, data):
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _riff_list(kind, *chunks):
    return _chunk(b"LIST", kind + b"".join(chunks))


def gab2_avi(payload, frames=20):
    """Return an AVI whose only stream is a 'txts' subtitle holding PAYLOAD in a GAB2 chunk.

    The 2017 trick: ffmpeg's AVI demuxer probes a GAB2 chunk's body as a nested file, so a playlist hidden there
    was opened as HLS and followed its URLs, from a file that is, by its magic bytes, a plain AVI.
    """
    main = struct.pack("<10I4I", 40000, 0, 0, 0x10, frames, 0, 1, 0, 224, 160, 0, 0, 0, 0)
    stream = struct.pack("<4s4sIHHIIIIIIII4H", b"txts", b"\x00" * 4, 0, 0, 0, 0, 1, 25, 0, frames, 0, 0, 0,
                         0, 0, 224, 160)
    bitmap = struct.pack("<IiiHH4sIiiII", 40, 224, 160, 1, 24, b"XVID", 224 * 160 * 3, 0, 0, 0, 0)
    header = _riff_list(b"hdrl", _chunk(b"avih", main),
                        _riff_list(b"strl", _chunk(b"strh", stream), _chunk(b"strf", bitmap)))
    description = "hostile".encode("utf-16-le") + b"\x00\x00"
    gab2 = b"GAB2\x00\x02\x00" + struct.pack("<I", len(description)) + description + \
        struct.pack("<HI", 4, len(payload)) + payload
    movi = _riff_list(b"movi", _chunk(b"00tx", gab2), *(_chunk(b"00dc", bytes(3)) for _ in range(frames)))
    body = b"AVI " + header + movi
    return b"RIFF" + struct.pack("<I", len(body)) + body


def canary_clip(path):
    """Write a tiny valid video: the local file an attacker's references point at, which ffmpeg could ingest."""
    return av_samples.mp4(path, 64, 48, seconds=1, audio=False, tags=False)


# Decompression and resource bombs

def jpeg_claiming(width, height):
    """Return a tiny JPEG whose frame header claims WIDTH×HEIGHT pixels."""
    data = bytearray(samples.jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _gif(screen, frame, count=1):
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for _ in range(count):
        # A graphic control block and a 1-pixel LZW picture: about 20 bytes a frame.
        out += b"\x21\xf9\x04\x04\x01\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + \
            b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def gif_claiming(width, height):
    """Return a GIF whose logical screen claims WIDTH×HEIGHT pixels."""
    return _gif((width, height), (1, 1))


def gif_frame_beyond_screen(width, height):
    """Return a GIF with a 10×10 screen whose first picture claims WIDTH×HEIGHT pixels."""
    return _gif((10, 10), (width, height))


def gif_many_frames(count, size=(64, 64)):
    """Return a GIF of COUNT one-pixel frames on a SIZE screen (about 20 bytes a frame)."""
    return _gif(size, (1, 1), count)


def webp_claiming(width, height):
    """Return an animated WebP whose canvas claims WIDTH×HEIGHT pixels, with two 2×2 frames."""
    frames = [Image.new("RGB", (2, 2), color) for color in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(out.getvalue())
    vp8x = data.index(b"VP8X")
    data[vp8x + 12:vp8x + 15] = (width - 1).to_bytes(3, "little")
    data[vp8x + 15:vp8x + 18] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def png_chunk_bomb(kind=b"zTXt", inflated=16 * 1024 * 1024, after_pixels=False):
    """Return a 10×10 PNG with a compressed metadata chunk (zTXt or iCCP) that inflates to INFLATED bytes, before
    the pixel data (read when the file is opened) or AFTER_PIXELS (read when it is decoded)."""
    body = zlib.compress(bytes(inflated), 9)
    bomb = (kind, (b"Comment\x00\x00" if kind == b"zTXt" else b"profile\x00\x00") + body)
    pixels = (b"IDAT", zlib.compress(b"".join(b"\x00" + bytes(30) for _ in range(10))))
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)),
              *([pixels, bomb] if after_pixels else [bomb, pixels]), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(samples._chunk(name, payload) for name, payload in chunks)


def _set_matroska_duration(data, milliseconds):
    """Overwrite the Segment Info Duration (a float, in TimestampScale units of 1 ms) of a Matroska file."""
    data = bytearray(data)
    at = data.index(b"\x44\x89")
    size = data[at + 2] & 0x7F
    struct.pack_into(">d" if size == 8 else ">f", data, at + 3, milliseconds)
    return bytes(data)


def mkv_claiming(path, seconds):
    """Write a one-second Matroska clip whose header claims SECONDS of running time."""
    av_samples.ffmpeg(*av_samples.picture(64, 48, 1, rate=5), *av_samples.H264, str(path))
    path.write_bytes(_set_matroska_duration(path.read_bytes(), seconds * 1000.0))
    return path


def flac_claiming(path, seconds, actual=1, rate=8000):
    """Write a FLAC of ACTUAL seconds (a tone for one second, else silence) whose STREAMINFO claims SECONDS."""
    sound = f"sine=frequency=440:sample_rate={rate}" if actual == 1 else f"anullsrc=r={rate}:cl=mono"
    av_samples.ffmpeg("-f", "lavfi", "-i", f"{sound}:duration={actual}", "-ac", "1", str(path))
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "expected STREAMINFO first"
    # Bytes 18..26: sample rate (20 bits), channels (3), bits per sample (5), total samples (36).
    packed = struct.unpack_from(">Q", data, 18)[0]
    struct.pack_into(">Q", data, 18, packed & ~((1 << 36) - 1) | seconds * rate)
    path.write_bytes(bytes(data))
    return path


def mkv_lying_short(path, gap_seconds=36000):
    """Write a few-KB Matroska clip whose header says 2 s while its last frame sits GAP_SECONDS later.

    A converter that trusts the stream rather than the measured running time would fill the gap at the output
    frame rate: ten hours of pictures from 7 KB.
    """
    av_samples.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=2",
                      "-vf", f"setpts='if(gte(N,49),PTS+{gap_seconds}/TB,PTS)'", "-fps_mode", "passthrough",
                      *av_samples.H264, str(path))
    path.write_bytes(_set_matroska_duration(path.read_bytes(), 2000.0))
    return path


# Archives

def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    """Return the bytes of a zip of ENTRIES: (name or ZipInfo, data) pairs, duplicates allowed."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names, which some tests want
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


PAGE = b"<!doctype html><title>Booth</title><h1>Booth</h1>"


def many_small_entries(count, each):
    """Return a zip of an index and COUNT entries of EACH zero bytes: each harmless, together too big.

    The entries share one compressed body (compressed once), so making a 600 MB bomb takes milliseconds.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(bytes(each)) + compressor.flush()
    crc = zlib.crc32(bytes(each))
    page = zlib.compressobj(9, zlib.DEFLATED, -15)
    page = page.compress(PAGE) + page.flush()
    entries = [("index.html", len(PAGE), zlib.crc32(PAGE), page)]
    entries += [(f"d{i:04d}.json", each, crc, body) for i in range(count)]
    out, directory = bytearray(), bytearray()
    for name, size, checksum, data in entries:
        directory += _central(name, size, checksum, len(data), len(out))
        out += _local(name, size, checksum, len(data)) + data
    return bytes(out + directory + _end(len(entries), len(directory), len(out)))


def nested_bomb(depth=3, fanout=8, leaf=1024 * 1024):
    """Return a 42.zip-style archive: zips of zips, FANOUT wide and DEPTH deep, over LEAF zero bytes."""
    inner = zip_of([("zeros.json", bytes(leaf))])
    for level in range(depth):
        inner = zip_of([(f"layer{level}-{i}.zip", inner) for i in range(fanout)])
    return zip_of([("index.html", PAGE), ("bundle.zip", inner)])


def _local(name, size, crc, compressed, method=zipfile.ZIP_DEFLATED):
    encoded = name.encode()
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, compressed, size,
                       len(encoded), 0) + encoded


def _central(name, size, crc, compressed, offset, method=zipfile.ZIP_DEFLATED):
    encoded = name.encode()
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, compressed, size,
                       len(encoded), 0, 0, 0, 0, 0, offset) + encoded


def _end(count, directory, offset):
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, directory, offset, 0)


def overlapping_bomb(files=20, kernel=512 * 1024):
    """Return David Fifield's overlapping-files zip bomb ("A better zip bomb", 2019), FILES entries over one
    KERNEL of zeros.

    Every entry's compressed data starts with a stored DEFLATE block that quotes the next entry's local header,
    then runs on through the next entry's bytes, so every entry inflates the one shared kernel: the archive grows
    linearly while its contents grow quadratically, and each entry has a local header of its own that matches
    its directory record.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel_data = compressor.compress(bytes(kernel)) + compressor.flush()
    names = [f"p{i:03d}.json" for i in range(files)]
    names[0] = "index.html"
    headers, sizes, crcs, spans = [None] * files, [0] * files, [0] * files, [0] * files
    tail_plain, tail_span, crc_tail = b"", len(kernel_data), zlib.crc32(bytes(kernel))
    for i in range(files - 1, -1, -1):
        # Entry i inflates to: the local headers of entries i+1.. quoted verbatim, then the kernel.
        sizes[i], spans[i] = len(tail_plain) + kernel, tail_span
        crcs[i] = zlib.crc32(bytes(kernel), zlib.crc32(tail_plain)) if tail_plain else crc_tail
        headers[i] = _local(names[i], sizes[i], crcs[i], spans[i])
        if i:
            quote = struct.pack("<BHH", 0, len(headers[i]), 0xFFFF ^ len(headers[i]))
            tail_plain = headers[i] + tail_plain
            tail_span += len(quote) + len(headers[i])
    out, offsets = bytearray(), []
    for i in range(files):
        offsets.append(len(out))
        out += headers[i]
        if i + 1 < files:
            out += struct.pack("<BHH", 0, len(headers[i + 1]), 0xFFFF ^ len(headers[i + 1]))
    out += kernel_data
    directory_at = len(out)
    directory = b"".join(_central(names[i], sizes[i], crcs[i], spans[i], offsets[i]) for i in range(files))
    return bytes(out + directory + _end(files, len(directory), directory_at))


def entry(name, data=b"x", mode=None, flags=0, method=None):
    """Return a (ZipInfo, data) pair with a Unix MODE, general-purpose FLAGS and compression METHOD."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED if method is None else method
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    info.flag_bits |= flags
    return info, data


def rename_local(data, central_name, local_name):
    """Give the entry CENTRAL_NAME another name (same length) in its local header only."""
    assert len(central_name) == len(local_name)
    raw = bytearray(data)
    at = raw.index(central_name.encode())  # the local header's copy comes first
    raw[at:at + len(local_name)] = local_name.encode()
    return bytes(raw)


def flag_local(data, name, bits):
    """Set general-purpose flag BITS in the local header of entry NAME only."""
    raw = bytearray(data)
    at = raw.index(name.encode()) - 30
    assert raw[at:at + 4] == b"PK\x03\x04"
    struct.pack_into("<H", raw, at + 6, struct.unpack_from("<H", raw, at + 6)[0] | bits)
    return bytes(raw)


def write(path, data):
    """Write DATA to PATH and return PATH."""
    Path(path).write_bytes(data)
    return Path(path)
