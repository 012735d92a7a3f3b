"""Turn stored blocks into their published form: media ids become media descriptions."""
from flask import current_app, g

from media import services as media_services
from pavilions.blocks import media_refs


def expand_blocks(blocks):
    """Return BLOCKS with every media id replaced by {id, kind, meta, renditions} (one query)."""
    found = media_services.load_many({ref for _i, _k, ref in media_refs(blocks)})

    def one(media_id):
        media = found.get(media_id)
        if media is None:
            return {"id": media_id, "kind": None, "meta": {}, "renditions": {}}
        return media_services.describe(media)

    expanded = []
    for block in blocks:
        item = dict(block)
        if isinstance(block.get("media"), list):
            item["media"] = [one(i) for i in block["media"]]
        elif block.get("media"):
            item["media"] = one(block["media"])
        if block.get("captions"):
            item["captions"] = one(block["captions"])
        expanded.append(item)
    return expanded


def published_view(pavilion, revision):
    """Return the API form of a published pavilion."""
    return {"slug": pavilion.slug, "name": revision.name, "summary": revision.summary,
            "name_en": revision.name_en, "summary_en": revision.summary_en, "tags": revision.tags,
            "published_at": pavilion.published_at.isoformat(), "blocks": expand_blocks(revision.blocks)}


def _first_image(revision):
    return next((ref for _i, kind, ref in media_refs(revision.blocks) if kind == "image"), None)


def cover_urls(revisions):
    """Return {revision id: URL of a ~640 px JPEG of its first image} in one query."""
    firsts = {r.id: _first_image(r) for r in revisions}
    found = media_services.load_many({m for m in firsts.values() if m})
    urls = {}
    for revision_id, media_id in firsts.items():
        media = found.get(media_id)
        if media and media.renditions:
            names = [n for n in media.renditions if n.endswith(".jpg")] or list(media.renditions)
            best = min(names, key=lambda n: abs(media.renditions[n]["width"] - 640))
            urls[revision_id] = media_services.rendition_url(media, best)
    return urls


def image_sources(media):
    """Return srcset strings per format and a fallback URL for a described image."""
    by_format = {}
    for name, url in media["renditions"].items():
        width, _dot, ext = name[1:].partition(".")
        if width.isdigit():
            by_format.setdefault(ext, []).append((int(width), url))
    jpg = sorted(by_format.get("jpg", []))
    fallback = min(jpg, key=lambda pair: abs(pair[0] - 1280))[1] if jpg else ""
    largest = max(jpg)[1] if jpg else fallback
    return {"fallback": fallback, "largest": largest, "placeholder": media["meta"].get("placeholder"),
            **{ext: ", ".join(f"{url} {w}w" for w, url in sorted(pairs)) for ext, pairs in by_format.items()}}


def h5_frame_sandbox():
    """The `sandbox` tokens of an H5 booth's iframe. With one origin per bundle, keeping that origin is safe (the
    bundle reaches only its own files); with one sandbox origin for all bundles the frame stays opaque."""
    from media import h5

    tokens = "allow-scripts allow-forms allow-popups"
    return tokens + " allow-same-origin" if h5.per_bundle(current_app.config["EXPO_SANDBOX_ORIGIN"]) else tokens


def _language_of(text):
    """'zh-CN' for text with Chinese characters, else 'en' (the expo's two languages)."""
    return "zh-CN" if any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text) else "en"


def localized(obj, field):
    """Return OBJ's FIELD in the visitor's language, with the `lang` of what is returned: the English variant
    (FIELD_en) for English visitors when there is one, else the main (Chinese-first) text, else the English."""
    get = obj.get if isinstance(obj, dict) else lambda name, default="": getattr(obj, name, default)
    main, english = get(field, "") or "", get(f"{field}_en", "") or ""
    if g.get("lang") == "en" and english or not main:
        return english, "en"
    return main, _language_of(main)
