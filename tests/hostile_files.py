"""A hostile-upload corpus made on the spot (small files, never committed): type confusion, metadata, file names.

Every generator takes the marker strings it plants, so a test can look for them in whatever the platform keeps.
"""
import io
import secrets
import struct
import zlib

from PIL import Image, ImageCms, PngImagePlugin

from tests.av_samples import H264, ffmpeg, picture

# A position an attacker would want to learn (Shanghai), written into EXIF, XMP and MP4 tags.
GPS_LAT, GPS_LON = (31.0, 13.0, 49.44), (121.0, 28.0, 25.32)
GPS_TEXT = "+31.2304+121.4737/"
XMP_GPS = ("31,13.824N", "121,28.422E")


def marker(label="m"):
    """Return a unique random string that no real file holds, to look for in everything the platform keeps."""
    return f"hx{label}{secrets.token_hex(6)}"


def script(mark):
    """Return markup that would run MARK as script if a browser ever read it as a page."""
    return f"<html><body><script>alert('{mark}')</script><img src=x onerror=\"alert('{mark}')\"></body></html>"


# ---------------------------------------------------------------------------------------------------------------
# Type confusion


def html_page(mark):
    """An HTML page, the classic stored-XSS upload under an image name."""
    return f"<!DOCTYPE html>\n{script(mark)}\n".encode()


def svg_script(mark):
    """An SVG image that runs script when opened on its own."""
    return (f'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
            f'onload="alert(\'{mark}\')"><script>alert("{mark}")</script><rect width="10" height="10"/></svg>\n'
            ).encode()


def gif_js_polyglot(mark):
    """A GIF that Pillow decodes and that is also JavaScript: `GIF89a/*…*/=alert(MARK)//`.

    The logical screen width is the bytes `/*`, opening a comment that the GIF comment extension closes.
    """
    out = io.BytesIO()
    Image.new("P", (8, 8), 3).save(out, "GIF", comment=f"*/=alert('{mark}')//{script(mark)}".encode())
    data = bytearray(out.getvalue())
    data[6:8] = b"/*"  # width 10799, height 8: a thin strip well inside the pixel limit
    return bytes(data)


def jpeg_html_polyglot(mark, size=(64, 48)):
    """A JPEG with an HTML page in its comment segment and after its end marker."""
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, "JPEG", comment=script(mark).encode())
    return out.getvalue() + script(mark).encode()


def png_html_polyglot(mark):
    """A PNG with an HTML page in text chunks, in a private chunk and after IEND."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", script(mark))
    info.add_itxt("Description", script(mark))
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (160, 90, 40)).save(out, "PNG", pnginfo=info)
    data = out.getvalue()
    private = _png_chunk(b"htMl", script(mark).encode())
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + private + data[iend:] + script(mark).encode()


def magic_then_html(magic, mark):
    """MAGIC bytes of a media format followed by an HTML page instead of media."""
    return magic + b"\n" + html_page(mark) * 4


MAGICS = {"jpeg": b"\xff\xd8\xff\xe0", "png": b"\x89PNG\r\n\x1a\n", "gif": b"GIF89a",
          "mp4": b"\x00\x00\x00\x18ftypisom", "mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00", "webm": b"\x1a\x45\xdf\xa3"}


def srt_hostile(mark):
    """SRT cues carrying script, event handlers, frames, entity-encoded tags and a javascript: link."""
    return (f"1\r\n00:00:00,000 --> 00:00:01,000\r\n<script>alert('{mark}')</script>Hello\r\n\r\n"
            f"2\r\n00:00:01,000 --> 00:00:02,000\r\n<img src=x onerror=alert('{mark}')>"
            f"<iframe src=\"javascript:alert('{mark}')\"></iframe>Stand 4\r\n\r\n"
            f"3\r\n00:00:02,000 --> 00:00:03,000\r\n&lt;script&gt;alert('{mark}')&lt;/script&gt;"
            f"<a href=\"javascript:alert('{mark}')\">Talk</a>\r\n\r\n").encode()


def vtt_hostile(mark):
    """WebVTT with a STYLE block, a NOTE of HTML, a cue setting injection and script in the cue text."""
    return (f"WEBVTT - <script>alert('{mark}')</script>\n\n"
            f"STYLE\n::cue {{ background: url(javascript:alert('{mark}')) }}\n\n"
            f"NOTE <script>alert('{mark}')</script>\n\n"
            f"intro\n00:00:00.000 --> 00:00:01.000 align:start\n<c.x><script>alert('{mark}')</script></c>Welcome\n\n"
            f"00:00:01.000 --> 00:00:02.000\n<v Bob><svg onload=alert('{mark}')>Hi</v>\n").encode()


# ---------------------------------------------------------------------------------------------------------------
# Metadata


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _gps():
    return {1: "N", 2: GPS_LAT, 3: "E", 4: GPS_LON}


def exif(marks):
    """EXIF with a GPS position, Artist and Copyright naming a person, a UserComment and description with script."""
    tags = Image.Exif()
    tags[0x013B] = f"Jane Doe {marks['artist']}"  # Artist
    tags[0x8298] = f"(c) Jane Doe, jane@example.org {marks['copyright']}"  # Copyright
    tags[0x010E] = f"<script>alert('{marks['description']}')</script>"  # ImageDescription
    tags[0x0131] = marks["software"]  # Software
    tags[0x8825] = _gps()
    # UserComment sits in the Exif sub-IFD, with its 8-byte character-code prefix.
    tags.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + f"<script>alert('{marks['comment']}')</script>".encode()
    return tags


def xmp(marks):
    """An XMP packet with a creator, a GPS position and a description carrying script."""
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
            f'xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" GPano:ProjectionType="equirectangular" '
            f'exif:GPSLatitude="{XMP_GPS[0]}" exif:GPSLongitude="{XMP_GPS[1]}">'
            f'<dc:creator>{marks["xmp"]}</dc:creator><dc:description>&lt;script&gt;alert("{marks["xmp"]}")'
            f'&lt;/script&gt;</dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
            ).encode()


def icc_profile(marks):
    """An sRGB ICC profile whose description is MARKS['icc'] (13 characters) and whose copyright holds script."""
    data = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    # Same-length swaps keep every tag offset valid, so colour managers still read the profile.
    description, copyright_ = "sRGB built-in", "No copyright, use freely"
    assert len(marks["icc"]) == len(description), "the ICC marker must have 13 characters"
    planted = f"<script>{marks['icc'][:15]}".ljust(len(copyright_), "x")
    for old, new in ((description, marks["icc"]), (copyright_, planted)):
        data = data.replace(old.encode("utf-16-be"), new.encode("utf-16-be"))
    return data


def metadata_marks():
    """Return one fresh marker for every place the metadata generators write to."""
    marks = {name: marker(name[:3]) for name in ("artist", "copyright", "description", "software", "comment",
                                                  "xmp", "text", "itxt", "ztxt", "gif")}
    marks["icc"] = "I" + secrets.token_hex(6)
    return marks


def _picture(width, height):
    image = Image.new("RGB", (width, height), (30, 120, 60))
    for x in range(0, width, 16):
        image.paste((220, 220, 40), (x, 0, x + 4, height))
    return image


def jpeg_tagged(marks, width=320, height=240, icc=True):
    """A JPEG carrying EXIF (GPS, Artist, Copyright, UserComment), XMP, a comment and (ICC) an ICC profile."""
    out = io.BytesIO()
    profile = {"icc_profile": icc_profile(marks)} if icc else {}
    _picture(width, height).save(out, "JPEG", exif=exif(marks), xmp=xmp(marks), comment=marks["text"].encode(),
                                 **profile)
    return out.getvalue()


def png_tagged(marks):
    """A PNG with tEXt, iTXt and zTXt chunks, an eXIf chunk, an XMP packet and an ICC profile."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", marks["text"])
    info.add_itxt("Comment", f"<script>alert('{marks['itxt']}')</script>", lang="en", tkey="Comment")
    info.add_text("Source", marks["ztxt"] * 3, zip=True)
    info.add_itxt("XML:com.adobe.xmp", xmp(marks).decode())
    out = io.BytesIO()
    _picture(240, 180).save(out, "PNG", pnginfo=info, exif=exif(marks), icc_profile=icc_profile(marks))
    return out.getvalue()


def webp_tagged(marks):
    """A WebP with EXIF, XMP and an ICC profile."""
    out = io.BytesIO()
    _picture(240, 180).save(out, "WEBP", exif=exif(marks), xmp=xmp(marks), icc_profile=icc_profile(marks))
    return out.getvalue()


def gif_tagged(marks):
    """A GIF whose comment extension holds a marker."""
    out = io.BytesIO()
    _picture(120, 90).convert("P").save(out, "GIF", comment=f"<script>{marks['gif']}</script>".encode())
    return out.getvalue()


def panorama_tagged(marks, icc=True):
    """A 2:1 equirectangular JPEG with GPano XMP, EXIF GPS and a comment (ICC: an ICC profile too)."""
    return jpeg_tagged(marks, 512, 256, icc)


def mp3_tagged(path, marks, tmp_dir):
    """An MP3 whose ID3 tags name a person (TIT2, TPE1, COMM with script) and whose cover art has EXIF GPS."""
    cover = tmp_dir / "cover.jpg"
    cover.write_bytes(jpeg_tagged(marks, 64, 64))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1", "-i", str(cover),
           "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-b:a", "64k", "-c:v", "copy",
           "-disposition:v:0", "attached_pic", "-id3v2_version", "3",
           "-metadata", f"title=Recorded at home by Jane Doe {marks['title']}",
           "-metadata", f"artist=Jane Doe {marks['artist']}",
           "-metadata", f"comment=<script>alert('{marks['comment']}')</script>",
           "-metadata", f"album={marks['album']}", "-metadata:s:v", f"title={marks['cover']}", str(path))
    return path


def mp4_tagged(path, marks):
    """An H.264/AAC MP4 with title, comment, artist and a ©xyz location, and tagged streams."""
    ffmpeg(*picture(160, 120, 1), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
           *H264, "-c:a", "aac", "-b:a", "64k",
           "-metadata", f"title={marks['title']}", "-metadata", f"comment=<script>alert('{marks['comment']}')</script>",
           "-metadata", f"artist=Jane Doe {marks['artist']}", "-metadata", f"location={GPS_TEXT}",
           "-metadata", f"album={marks['album']}",
           "-metadata:s:v:0", f"handler_name={marks['stream']}", "-metadata:s:a:0", f"handler_name={marks['stream']}",
           "-metadata:s:v:0", f"title={marks['cover']}", "-shortest", str(path))
    return path


def av_marks():
    """Return fresh markers for the audio and video tags."""
    return {name: marker(name[:3]) for name in ("title", "artist", "comment", "album", "stream", "cover",
                                                 "copyright", "description", "software", "xmp", "text")} | {
        "icc": "I" + secrets.token_hex(6)}


# ---------------------------------------------------------------------------------------------------------------
# File names

RTL_OVERRIDE = "\u202e"
HOSTILE_NAMES = {
    "traversal": "../../etc/passwd.jpg",
    "windows_traversal": "..\\..\\windows\\win.ini.jpg",
    "nul": "photo\x00.php.jpg",
    "crlf": "photo.jpg\r\nSet-Cookie: hxcrlf=1\r\nX-Injected: hxcrlf",
    "rtl": f"photo{RTL_OVERRIDE}gpj.exe",
    "rtl_image": f"holiday{RTL_OVERRIDE}gnp.jpg",
    "long": "A" * 5000 + ".jpg",
    "reserved_con": "CON",
    "reserved_nul": "NUL.jpg",
    "htaccess": ".htaccess",
    "quotes_script": "a\"b'c<script>alert('hxname')<img src=x onerror=alert('hxname')>.jpg",
    "fullwidth_slash": "..\uff0f..\uff0fetc\uff0fshadow.jpg",
}
# Distinctive pieces of the names above (long enough never to turn up in a random id) that no key, path or
# header may contain; keys are also checked whole against the shapes the key builders make.
NAME_FRAGMENTS = ("passwd", "win.ini", "windows", ".php", "hxcrlf", "AAAAAAAA", "htaccess", "hxname",
                  "shadow", "holiday", "gpj.exe", "NUL.jpg")


def multipart(fields, filename, data, content_type="application/octet-stream", file_first=False):
    """Return (body, content type) of a multipart form whose file part has FILENAME as raw bytes (str: UTF-8).

    Unlike a test client, nothing here escapes the name: CR, LF, NUL and quotes reach the server as they are.
    """
    boundary = "hx" + secrets.token_hex(12)
    raw_name = filename.encode("utf-8", "surrogatepass") if isinstance(filename, str) else filename
    file_part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"".encode()
                 + raw_name + f"\"\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    field_parts = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                           .encode() for name, value in fields.items())
    parts = file_part + field_parts if file_first else field_parts + file_part
    return parts + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
