"""H5 bundles: validate a zipped mini-site while inflating it, and sign the sandbox paths it is served under."""
import base64
import hashlib
import hmac
import re
import struct
import time
import zipfile
from pathlib import Path, PurePosixPath

from flask import current_app

from media import keys, strip

CHUNK = 64 * 1024
RATIO_FLOOR = 1024 * 1024  # an entry inflating to less than this may compress as well as it likes
MAX_DIRECTORY = 4 * 1024 * 1024  # central directory bytes; 1,000 entries with sane names need far less
SIGNED_TTL_S = 6 * 3600
PUBLIC = "pub"
RESERVED = "_expo"  # the expo's own files beside a bundle's (its poster) live in this folder
POSTER = f"{RESERVED}/poster"
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_EOCD = b"PK\x05\x06"
_CAPABILITY = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{43})$")
_JUNK = ("__MACOSX/",)
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_TEXT = "; charset=utf-8"
# The Content-Type of every file comes from this table, never from the archive.
TYPES = {
    "html": "text/html" + _TEXT, "htm": "text/html" + _TEXT, "css": "text/css" + _TEXT,
    "js": "text/javascript" + _TEXT, "mjs": "text/javascript" + _TEXT, "json": "application/json",
    "map": "application/json", "txt": "text/plain" + _TEXT, "svg": "image/svg+xml",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
    "avif": "image/avif", "ico": "image/x-icon", "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf",
    "otf": "font/otf", "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "wav": "audio/wav",
    "mp4": "video/mp4", "webm": "video/webm", "wasm": "application/wasm",
}
ALLOWED = "HTML, CSS, JavaScript, JSON, text, images, fonts, audio, video and WebAssembly"


class BundleRejected(Exception):
    """The archive is not a bundle the expo will host; `message` names the offending entry."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def limits(config):
    """Return the bundle limits from CONFIG."""
    return {"packed": config["EXPO_MAX_H5_BYTES"], "unpacked": config["EXPO_MAX_H5_UNPACKED_BYTES"],
            "entries": config["EXPO_MAX_H5_ENTRIES"], "ratio": 100}


def _mb(count):
    return f"{count // (1024 * 1024)} MB"


def _entry_count(path):
    """Return (entries, directory size, directory offset) from the end record, before zipfile parses anything."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65557))
        tail = fh.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise BundleRejected("not_a_zip", "The file is not a readable ZIP archive; zip the folder again.")
    _disk, _start, _here, total, directory, offset = struct.unpack("<4H2L", tail[at + 4:at + 20])
    return total, directory, offset


def _check_name(info, seen):
    """Refuse an entry whose name, type or flags could escape or confuse the bundle's folder."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise BundleRejected("encrypted_entry", f"The bundle's entry '{name}' is encrypted; zip the folder again "
                                                "without a password.")
    if "\\" in name or "\0" in name:
        raise BundleRejected("unsafe_path", f"The bundle's entry '{name}' has a backslash or NUL in its name; "
                                            "zip the folder again with a standard ZIP tool.")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BundleRejected("unsafe_path", f"The bundle's entry '{name}' has an absolute path; zip the folder "
                                            "again so every path is relative.")
    parts = name.rstrip("/").split("/")
    if any(part in ("..", ".", "") for part in parts):
        raise BundleRejected("unsafe_path", f"The bundle's entry '{name}' leaves the bundle's folder; zip the "
                                            "folder again without it.")
    kind = (info.external_attr >> 16) & 0o170000
    if kind == 0o120000:
        raise BundleRejected("symlink_entry", f"The bundle's entry '{name}' is a symbolic link; replace it with "
                                              "the file it points to.")
    if kind not in (0, 0o100000, 0o040000):
        raise BundleRejected("special_entry", f"The bundle's entry '{name}' is not a regular file or folder.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BundleRejected("unsupported_compression", f"The bundle's entry '{name}' uses an unusual "
                                                        "compression method; zip the folder again with the "
                                                        "standard (deflate) method.")
    folded = name.rstrip("/").casefold()
    if folded in seen:
        other = seen[folded]
        what = "twice" if other == name else f"beside '{other}', which differs only in letter case"
        raise BundleRejected("duplicate_entry", f"The bundle's entry '{name}' appears {what}; keep one of them.")
    seen[folded] = name


def _root(names):
    """Return the folder prefix that holds index.html: '' or a single top folder."""
    if "index.html" in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and f"{next(iter(tops))}/index.html" in names:
        return f"{next(iter(tops))}/"
    raise BundleRejected("no_index", "The bundle has no index.html at its root or inside a single top folder; "
                                     "put the page visitors start from in index.html.")


def _relative(name, root):
    """Return NAME below ROOT as a rendition name and its Content-Type, or refuse it."""
    if not name.startswith(root):
        raise BundleRejected("no_index", f"The bundle's entry '{name}' lies outside the folder that holds "
                                         "index.html; zip only that folder.")
    relative = name[len(root):]
    if relative.split("/", 1)[0].casefold() == RESERVED:
        raise BundleRejected("reserved_name", f"The bundle's entry '{name}' lies in the folder '{RESERVED}', which "
                                              "the expo keeps for its own files; rename that folder.")
    extension = PurePosixPath(relative).suffix.lower().lstrip(".")
    if extension not in TYPES:
        raise BundleRejected("disallowed_file", f"The bundle's entry '{name}' is not a kind of file the expo "
                                                f"hosts; bundles may hold {ALLOWED}.")
    try:
        keys.rendition("m", "r", relative)
    except ValueError:
        raise BundleRejected("unsafe_name", f"The bundle's entry '{name}' has a name the expo cannot host: at "
                                            "most 4 folders deep, each part of Latin letters, digits, '_', '.' "
                                            "and '-', not starting with '.' or '-'; rename it.") from None
    return relative, TYPES[extension]


def _local_span(fh, info):
    """Check the local header of INFO against the directory; return (start, end) of its bytes."""
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise BundleRejected("corrupt_entry", f"The bundle's entry '{info.filename}' has no valid header; "
                                              "zip the folder again.")
    fields = _LOCAL.unpack(header)
    flags, name_len, extra_len = fields[2], fields[9], fields[10]
    raw = fh.read(name_len)
    expected = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    if raw != expected or flags & 0x1:
        raise BundleRejected("mismatched_entry", f"The bundle's entry '{info.filename}' has a different name or "
                                                 "flags in its local header; zip the folder again.")
    return info.header_offset, info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size


def _inflate(archive, info, dest, budget, ratio):
    """Write INFO to DEST counting the bytes really inflated; return how many."""
    written = 0
    try:
        with archive.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > budget:
                    raise BundleRejected("bundle_too_large", f"The bundle grows past its unpacked limit at "
                                                             f"entry '{info.filename}'.")
                if written > RATIO_FLOOR and written > ratio * max(info.compress_size, 1):
                    raise BundleRejected("compression_ratio", f"The bundle's entry '{info.filename}' inflates more "
                                                              f"than {ratio}:1, as zip bombs do; leave it out.")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise BundleRejected("corrupt_entry", f"The bundle's entry '{info.filename}' is damaged ({error}); zip "
                                              "the folder again.") from None
    return written


def _strip(path, content_type, name):
    """Cut EXIF, XMP, comments and text chunks out of a bundle's image: it is served as uploaded."""
    try:
        strip.strip_in_place(path, content_type)
    except strip.Damaged as error:
        raise BundleRejected("damaged_image", f"The bundle's image '{name}' is damaged ({error}); export it "
                                              "again.") from None


def _check_declared(infos, limit):
    """Refuse, before inflating a byte, a bundle whose directory already admits a bomb by total size or by ratio.

    The same limits are counted again while inflating, so an archive that lies in its directory gains nothing.
    """
    declared = 0
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > limit["ratio"] * max(info.compress_size, 1):
            raise BundleRejected("compression_ratio", f"The bundle's entry '{info.filename}' inflates more than "
                                                      f"{limit['ratio']}:1, as zip bombs do; leave it out.")
        declared += info.file_size
        if declared > limit["unpacked"]:
            raise BundleRejected("bundle_too_large", f"The bundle unpacks to more than its limit of "
                                                     f"{_mb(limit['unpacked'])} by entry '{info.filename}'; leave "
                                                     "out what the page does not use.")


def _entries(path, limit):
    """Return the archive's directory, refusing too many entries before parsing it whole."""
    total, directory, offset = _entry_count(path)
    if total > limit["entries"] or directory > MAX_DIRECTORY:
        raise BundleRejected("too_many_entries", f"The bundle has more than {limit['entries']} files and folders; "
                                                 "leave out what the page does not use.")
    return offset


def validate_and_extract(zip_path, out_dir, limit):
    """Validate the bundle at ZIP_PATH while inflating it into OUT_DIR; return (meta, files)."""
    packed = Path(zip_path).stat().st_size
    if packed > limit["packed"]:
        raise BundleRejected("bundle_too_large", f"The bundle is {_mb(packed)}; the limit is {_mb(limit['packed'])}.")
    directory_at = _entries(zip_path, limit)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleRejected("not_a_zip", f"The file is not a readable ZIP archive ({error}); zip the folder "
                                          "again.") from None
    with archive, open(zip_path, "rb") as raw:
        infos = archive.infolist()
        if len(infos) > limit["entries"]:
            raise BundleRejected("too_many_entries", f"The bundle has more than {limit['entries']} files and "
                                                     "folders; leave out what the page does not use.")
        seen, spans = {}, []
        for info in infos:
            _check_name(info, seen)
            spans.append((*_local_span(raw, info), info.filename))
        spans.sort()
        for (_s, end, name), (start, _e, _n) in zip(spans, [*spans[1:], (directory_at, 0, "")], strict=True):
            if start < end:
                raise BundleRejected("overlapping_entry", f"The bundle's entry '{name}' overlaps another entry's "
                                                          "bytes, as zip bombs do; zip the folder again.")
        wanted = [i for i in infos if not i.is_dir() and not i.filename.startswith(_JUNK)
                  and PurePosixPath(i.filename).name not in _JUNK_NAMES]
        root = _root({i.filename for i in wanted})
        named = [(info, *_relative(info.filename, root)) for info in wanted]
        _check_declared(wanted, limit)
        files, total = [], 0
        for number, (info, relative, content_type) in enumerate(named):
            dest = Path(out_dir) / f"f{number:04d}"  # a name the project chose
            total += _inflate(archive, info, dest, limit["unpacked"] - total, limit["ratio"])
            _strip(dest, content_type, info.filename)
            files.append((relative, str(dest), content_type))
    return {"entries": len(files), "unpacked_bytes": total, "index": "index.html"}, files


def add_poster(files, out_dir, chromium):
    """Screenshot the extracted bundle FILES with CHROMIUM (None: no poster); return (meta, poster files)."""
    from media import images, screenshot

    if not chromium:
        return {}, []
    shot = Path(out_dir) / "screenshot.png"
    if not screenshot.capture(chromium, files, shot):
        return {}, []
    return images.render_poster(shot, out_dir, POSTER)


def _signature(media_id, run_id, expiry):
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"h5-bundle|{media_id}|{run_id}|{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def capability(media, now=None):
    """Return the path segment that opens MEDIA's current run: `pub` when published, else a signed expiry."""
    if media.public:
        return PUBLIC
    # Rounded to the hour, so a page rendered twice names the same URLs and the browser's cache still works.
    expiry = (int(now or time.time()) // 3600 + 1) * 3600 + SIGNED_TTL_S
    return f"{expiry}.{_signature(media.id, media.run_id, expiry)}"


def allows(media, run_id, segment, now=None):
    """Return whether SEGMENT opens run RUN_ID of MEDIA on the sandbox origin."""
    if run_id != media.run_id:
        return False
    if segment == PUBLIC:
        return bool(media.public)
    match = _CAPABILITY.match(segment or "")
    if not match or int(match.group(1)) < (now or time.time()):
        return False
    return hmac.compare_digest(match.group(2), _signature(media.id, run_id, int(match.group(1))))


def per_bundle(sandbox_origin):
    """Whether SANDBOX_ORIGIN names one origin per bundle (`https://*.h5.example`) rather than one for all."""
    return "://*." in sandbox_origin


def bundle_origin(media_id, sandbox_origin):
    """Return the origin that serves bundle MEDIA_ID: its own subdomain in per-bundle mode, else the sandbox's."""
    sandbox_origin = sandbox_origin.rstrip("/")
    if not per_bundle(sandbox_origin):
        return sandbox_origin
    # A DNS label from the id (ids mix cases and may hold '_', which host names cannot).
    label = "h5-" + hashlib.sha256(media_id.encode()).hexdigest()[:24]
    return sandbox_origin.replace("*", label, 1)


def sandbox_url(media, name):
    """Return the sandbox-origin URL of file NAME (relative to the run) of the bundle MEDIA."""
    origin = bundle_origin(media.id, current_app.config["EXPO_SANDBOX_ORIGIN"])
    return f"{origin}/b/{media.id}/{media.run_id}/{capability(media)}/{name}"
