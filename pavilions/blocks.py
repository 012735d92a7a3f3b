"""Block validation and sanitising: what a draft may hold, checked on every save."""
import re
import secrets
from urllib.parse import urlsplit

import nh3

from expo.errors import Invalid
from media.states import MediaKind

KINDS = ("text", "image", "audio", "video", "h5", "panorama", "embed")
MAX_BLOCKS = 200
MAX_HTML = 100_000
MAX_IMAGES = 50
MAX_HOTSPOTS = 100
TAGS = {"p", "br", "strong", "em", "b", "i", "u", "s", "a", "ul", "ol", "li", "h2", "h3", "h4",
        "blockquote", "code", "pre", "hr", "sub", "sup", "small", "mark", "span"}
ATTRIBUTES = {"a": {"href", "title"}, "span": {"lang"}, "p": {"lang"}}
_BLOCK_ID = re.compile(r"^b_[A-Za-z0-9_-]{6,24}$")
MEDIA_KIND = {"image": MediaKind.IMAGE, "audio": MediaKind.AUDIO, "video": MediaKind.VIDEO,
              "h5": MediaKind.H5, "panorama": MediaKind.PANORAMA}
REF_KIND = {**MEDIA_KIND, "captions": MediaKind.CAPTIONS}  # what each media reference must point at


def sanitise_html(html):
    """Return HTML reduced to the allow-list; scripts, handlers and unsafe URLs removed."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow ugc", strip_comments=True)


def _text(value, field, limit, where):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{where}: '{field}' must be text.", code="invalid_block")
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{where}: '{field}' is longer than {limit} characters.", code="invalid_block")
    return value


def _media_id(value, where):
    if value in (None, ""):
        return None  # chosen later in the editor; submission refuses a block without its media
    if not isinstance(value, str):
        raise Invalid(f"{where}: 'media' must be the id of an uploaded media item.", code="invalid_block")
    return value


def _number(value, low, high, field, where):
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise Invalid(f"{where}: '{field}' must be a number from {low} to {high}.", code="invalid_block")
    return float(value)


def _hotspot(raw, where):
    raw = raw if isinstance(raw, dict) else {}
    spot = {"pitch": _number(raw.get("pitch"), -90, 90, "pitch", where),
            "yaw": _number(raw.get("yaw"), -180, 180, "yaw", where),
            "text": _text(raw.get("text"), "text", 300, where)}
    if raw.get("target") not in (None, ""):  # another block of the pavilion: a panorama is a scene of a tour
        if not isinstance(raw["target"], str) or not _BLOCK_ID.match(raw["target"]):
            raise Invalid(f"{where}: a hotspot's 'target' must be the id of another block (b_…).",
                          code="invalid_block")
        spot["target"] = raw["target"]
    return spot


def _hotspots(raw, where):
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_HOTSPOTS:
        raise Invalid(f"{where}: 'hotspots' must be a list of at most {MAX_HOTSPOTS}.", code="invalid_block")
    return [_hotspot(h, where) for h in raw]


def _embed_url(url, hosts, where):
    url = _text(url, "url", 2000, where)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        raise Invalid(f"{where}: the embed address must start with https://.", code="invalid_embed")
    if host not in hosts:
        allowed = ", ".join(sorted(hosts)) or "none yet (ask a curator)"
        raise Invalid(f"{where}: {host} is not an allowed embed host; allowed hosts: {allowed}.",
                      code="embed_host_not_allowed")
    return url


def clean_block(raw, index, embed_hosts):
    """Return the stored form of one block, or raise Invalid naming what is wrong."""
    where = f"Block {index + 1}"
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise Invalid(f"{where}: 'kind' must be one of {', '.join(KINDS)}.", code="invalid_block")
    kind = raw["kind"]
    block_id = raw.get("id") if isinstance(raw.get("id"), str) and _BLOCK_ID.match(raw["id"]) else None
    block = {"id": block_id or "b_" + secrets.token_urlsafe(6), "kind": kind}
    if kind == "text":
        block["html"] = sanitise_html(_text(raw.get("html"), "html", MAX_HTML, where))
        if raw.get("html_en"):  # the English text, shown to English visitors (each falls back to the other)
            block["html_en"] = sanitise_html(_text(raw.get("html_en"), "html_en", MAX_HTML, where))
    elif kind == "image":
        ids = raw.get("media")
        if ids is None:
            ids = []
        if not isinstance(ids, list) or len(ids) > MAX_IMAGES:
            raise Invalid(f"{where}: 'media' must list up to {MAX_IMAGES} image ids.", code="invalid_block")
        block["media"] = [m for m in (_media_id(i, where) for i in ids) if m]
        block["caption"] = _text(raw.get("caption"), "caption", 500, where)
        block["alt"] = _text(raw.get("alt"), "alt", 500, where)
    elif kind == "embed":
        block["url"] = _embed_url(raw.get("url"), embed_hosts, where)
        block["title"] = _text(raw.get("title"), "title", 200, where)
    else:
        block["media"] = _media_id(raw.get("media"), where)
        # Every media block may carry a title (the frame's or player's name) and a caption shown under it.
        block["title"] = _text(raw.get("title"), "title", 200, where)
        block["caption"] = _text(raw.get("caption"), "caption", 500, where)
        if kind == "video" and raw.get("captions"):
            block["captions"] = _media_id(raw.get("captions"), where)
        if kind == "panorama":
            block["hotspots"] = _hotspots(raw.get("hotspots"), where)
    return block


def media_refs(blocks):
    """Yield (block index, block kind, media id) for every media reference in BLOCKS."""
    for index, block in enumerate(blocks):
        ids = block.get("media")
        for media_id in ids if isinstance(ids, list) else [ids] if ids else []:
            yield index, block["kind"], media_id
        if block.get("captions"):
            yield index, "captions", block["captions"]


def missing_media(blocks):
    """Return the 1-based numbers of media blocks that have no media chosen yet."""
    return [i + 1 for i, b in enumerate(blocks) if b["kind"] in MEDIA_KIND and not b.get("media")]


def missing_alt(blocks):
    """Return the 1-based numbers of image blocks with images but no alternative text."""
    return [i + 1 for i, b in enumerate(blocks or []) if b.get("kind") == "image" and b.get("media")
            and not (b.get("alt") or "").strip()]


def clean_blocks(raw, embed_hosts):
    """Return the stored form of a list of blocks."""
    if not isinstance(raw, list) or len(raw) > MAX_BLOCKS:
        raise Invalid(f"'blocks' must be a list of at most {MAX_BLOCKS} blocks.", code="invalid_blocks")
    blocks = [clean_block(b, i, embed_hosts) for i, b in enumerate(raw)]
    seen = set()
    for block in blocks:
        if block["id"] in seen:
            block["id"] = "b_" + secrets.token_urlsafe(6)
        seen.add(block["id"])
    return blocks


def clean_tags(raw):
    """Return up to 12 short, distinct tags."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise Invalid("'tags' must be a list of words.", code="invalid_tags")
    tags = []
    for tag in (t.strip()[:30] for t in raw):
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > 12:
        raise Invalid("A pavilion can carry at most 12 tags.", code="invalid_tags")
    return tags
