"""The demo expo: users, pavilions with generated media, each submitted and approved (idempotent)."""
import io
import math
import sys

from PIL import Image, ImageDraw
from sqlalchemy import select

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo users on purpose
USERS = (("admin@expo.demo", "admin", "Admin"), ("curator@expo.demo", "curator", "Curator"),
         ("exhibitor@expo.demo", "exhibitor", "Exhibitor"))
PAVILIONS = (
    {"slug": "personal-information", "name": "个人信息保护馆", "name_en": "Personal Information Protection",
     "summary": "保护个人信息，从每一次授权开始。", "summary_en": "Protect personal data, one permission at a time.",
     "tags": ["个人信息保护", "privacy"], "colors": ((11, 92, 173), (23, 162, 184)),
     "html": "<h2>守护你的个人信息</h2><p>在安装应用时，只授予<strong>必要的权限</strong>。"
             "不随意扫描来历不明的二维码。</p>",
     "html_en": "<h2>Guard your personal data</h2><p>Grant apps only the <strong>permissions they need</strong>, "
                "and never scan QR codes of unknown origin.</p>"},
    {"slug": "anti-fraud", "name": "反电信网络诈骗馆", "name_en": "Telecom Anti-Fraud",
     "summary": "识别冒充客服、刷单返利等常见骗局。", "summary_en": "Spot the most common phone and online scams.",
     "tags": ["电信", "anti-fraud"], "colors": ((166, 27, 27), (245, 166, 35)),
     "html": "<h2>三不一多</h2><ul><li>未知链接不点击</li><li>陌生来电不轻信</li><li>个人信息不透露</li>"
             "<li>转账汇款多核实</li></ul>",
     "html_en": "<h2>Three don'ts and a do</h2><ul><li>Don't click unknown links</li><li>Don't trust strange "
                "callers</li><li>Don't share personal data</li><li>Double-check every transfer</li></ul>"},
    {"slug": "cloud-class", "name": "网络安全云课堂", "name_en": "Cyber Security Cloud Class",
     "summary": "视频、音频和全景展台。", "summary_en": "Video lessons, a narrated talk and a VR booth.",
     "tags": ["云课堂", "cloud-class"], "colors": ((80, 40, 140), (200, 90, 160)), "media_kinds": True,
     "html": "<h2>看视频，学安全</h2><p>观看短片、收听讲解，并在全景展台中四处看看。</p>",
     "html_en": "<h2>Watch and learn</h2><p>Watch the short film, listen to the talk and look around the VR "
                "booth.</p>"},
    {"slug": "campus-safety", "name": "校园网络安全馆", "name_en": "Campus Cyber Safety",
     "summary": "给同学们的上网安全课。", "summary_en": "Online safety lessons for students.",
     "tags": ["校园", "campus"], "colors": ((23, 107, 44), (160, 210, 90)),
     "html": "<h2>强密码，好习惯</h2><p>每个账号使用不同的密码，并开启双重验证。</p>",
     "html_en": "<h2>Strong passwords, good habits</h2><p>Use a different password for every account and turn "
                "on two-factor sign-in.</p>"},
)


def poster(width, height, colors, seed):
    """Return a JPEG of a generated gradient with shapes, WIDTH×HEIGHT."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    (r1, g1, b1), (r2, g2, b2) = colors
    for y in range(height):
        t = y / max(1, height - 1)
        color = (int(r1 + (r2 - r1) * t), int(g1 + (g2 - g1) * t), int(b1 + (b2 - b1) * t))
        draw.line([(0, y), (width, y)], fill=color)
    for i in range(12):
        angle = seed + i * 0.52
        cx, cy = width / 2 + math.cos(angle) * width / 3, height / 2 + math.sin(angle * 1.3) * height / 3
        radius = width / (10 + i)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=(255, 255, 255), width=6)
    draw.rectangle([width * 0.1, height * 0.42, width * 0.9, height * 0.58], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    out.seek(0)
    return out


def ensure_users():
    from expo import accounts
    from expo.models import User

    found = {}
    for email, role, name in USERS:
        user = accounts.db.session.scalar(select(User).where(User.email == email))
        found[role] = user or accounts.create_user(email, DEMO_PASSWORD, role, name)
    accounts.db.session.commit()
    return found


def _upload_images(pavilion, owner, spec, index):
    from media import services as media_services

    ids = []
    for n, (w, h) in enumerate(((2400, 1350), (1600, 1200))):
        media = media_services.ingest(poster(w, h, spec["colors"], index + n), f"{spec['slug']}-{n}.jpg", owner,
                                      pavilion.id, "image")
        ids.append(media.id)
    media_services.db.session.commit()
    for media_id in ids:
        media_services.enqueue(media_id, "image")
    _wait(ids)
    return ids


CAPTIONS = ("1\n00:00:00,000 --> 00:00:03,000\n保护个人信息 Protect your personal data\n\n"
            "2\n00:00:03,000 --> 00:00:06,000\n不点击陌生链接 Don't click unknown links\n")


def promo_bundle():
    """Return a zipped H5 promo page: an index, a stylesheet and a script that flips cards."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("promo/index.html", "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width\"><title>安全小测验</title>"
                        "<link rel=\"stylesheet\" href=\"style.css\"></head><body><h1>安全小测验 · Quick quiz</h1>"
                        "<button id=\"card\">密码要多长？ How long should a password be?</button>"
                        "<script src=\"app.js\"></script></body></html>")
        bundle.writestr("promo/style.css", "body{font-family:sans-serif;background:#0b2e59;color:#fff;padding:1rem}"
                        "button{font-size:1.2rem;padding:1rem;border-radius:8px}")
        bundle.writestr("promo/app.js", "document.getElementById('card').addEventListener('click', function () {"
                        "this.textContent = '至少 12 位，并且每个网站都不同。At least 12 characters, unique per site.';"
                        "});")
    out.seek(0)
    return out


def panorama(width, colors):
    """Return a JPEG of a generated 2:1 equirectangular scene: sky, horizon, floor and pillars."""
    height = width // 2
    image = Image.new("RGB", (width, height), colors[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height // 2, width, height], fill=colors[1])
    for i in range(8):
        x = i * width // 8
        draw.rectangle([x + width // 64, height // 3, x + width // 32, height * 2 // 3], fill=(240, 240, 240))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    out.seek(0)
    return out


def _av_blocks(pavilion, owner, spec):
    """Upload a generated video with captions, a narrated tone and a panorama; return their blocks."""
    import tempfile
    from pathlib import Path

    from media import services as media_services
    from media.transcode import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        clip, talk = Path(tmp) / "lesson.mp4", Path(tmp) / "talk.mp3"
        synthesize(clip, 6, video=(1280, 720))
        synthesize(talk, 5)
        uploads = [(clip.open("rb"), "lesson.mp4", None), (talk.open("rb"), "talk.mp3", None),
                   (io.BytesIO(CAPTIONS.encode()), "lesson.srt", None),
                   (panorama(4096, spec["colors"]), "booth.jpg", "panorama"),
                   (promo_bundle(), "promo.zip", "h5")]
        made = []
        for stream, name, kind in uploads:
            with stream:
                made.append(media_services.ingest(stream, name, owner, pavilion.id, kind))
    media_services.db.session.commit()
    for media in made:
        media_services.enqueue(media.id, media.kind)
    _wait([m.id for m in made])
    video, audio, captions, pano, promo = (m.id for m in made)
    return [{"kind": "video", "media": video, "captions": captions},
            {"kind": "audio", "media": audio, "title": "网络安全讲解 · A short talk"},
            {"kind": "panorama", "media": pano, "caption": "全景展台 · The VR booth",
             "hotspots": [{"pitch": 0, "yaw": 0, "text": "展台入口 · Entrance"}]},
            {"kind": "h5", "media": promo}]


def _wait(ids):
    from media import services as media_services

    states = media_services.wait_until_settled(ids, timeout=180)
    if any(s != "ready" for s in states.values()):
        raise RuntimeError(f"demo media were not processed: {states}; is the worker running?")


def load_pavilion(spec, index, users):
    """Create, fill, submit and approve one demo pavilion unless it is already live."""
    from expo.extensions import db
    from pavilions import services
    from pavilions.models import Pavilion

    owner, curator = users["exhibitor"], users["curator"]
    pavilion = db.session.scalar(select(Pavilion).where(Pavilion.slug == spec["slug"]))
    if pavilion is not None and pavilion.live_revision_id:
        return False
    if pavilion is None:
        pavilion = services.create_pavilion(owner, spec["name"], spec["slug"], spec["summary"])
        db.session.commit()
    images = _upload_images(pavilion, owner, spec, index)
    blocks = [{"kind": "text", "html": spec["html"], "html_en": spec["html_en"]},
              {"kind": "image", "media": images, "caption": spec["summary"],
               "alt": f"{spec['name']} · {spec['name_en']}"},
              {"kind": "embed", "url": "https://player.bilibili.com/player.html?bvid=BV1GJ411x7h7",
               "title": "Related video (external)"}]
    if spec.get("media_kinds"):
        blocks[2:2] = _av_blocks(pavilion, owner, spec)
    services.save_draft(pavilion, owner, {"name": spec["name"], "summary": spec["summary"], "tags": spec["tags"],
                                          "name_en": spec["name_en"], "summary_en": spec["summary_en"],
                                          "blocks": blocks}, pavilion.version)
    revision = services.submit(pavilion, owner)
    services.decide(revision, curator, "approve", "Demo content.")
    db.session.commit()
    return True


def _seed_broadcast(app, curator):
    """Put the opening broadcast on air; the cloud class's film stands in for the streaming service's feed."""
    from expo.extensions import db
    from media import services as media_services
    from media.models import Media
    from media.states import MediaKind
    from pavilions.programme import live_services
    from pavilions.programme.models_live import Broadcast

    existing = db.session.scalar(select(Broadcast).order_by(Broadcast.starts_at.desc()).limit(1))
    if existing is not None:
        return existing.id
    video = db.session.scalar(select(Media).where(Media.kind == MediaKind.VIDEO, Media.public.is_(True)).limit(1))
    if video is None or not video.renditions:
        return None
    origin = app.config["EXPO_SITE_ORIGINS"][0].rstrip("/")
    with app.test_request_context(base_url=origin):
        feed = media_services.rendition_url(video, "hls")
    broadcast = live_services.seed_demo(curator, feed if feed.startswith("http") else origin + feed, video.id)
    db.session.commit()
    return broadcast.id


def load():
    """Load the demo expo into the configured database and store."""
    from expo import create_app

    app = create_app()
    with app.app_context():
        users = ensure_users()
        loaded = sum(load_pavilion(spec, i, users) for i, spec in enumerate(PAVILIONS))
        from pavilions.programme.contests_seed import seed_demo as seed_contests
        from pavilions.programme.days_seed import seed_demo as seed_days

        contest_ids = seed_contests(users["curator"])
        broadcast = _seed_broadcast(app, users["curator"])
        seed_days(users["curator"], [spec["slug"] for spec in PAVILIONS], contest_ids, broadcast)
    print(f"[demo] {loaded} pavilion(s) loaded, {len(PAVILIONS) - loaded} already there. "
          f"Sign in as admin@expo.demo, curator@expo.demo or exhibitor@expo.demo with the password "
          f"'{DEMO_PASSWORD}'.", file=sys.stderr, flush=True)


if __name__ == "__main__":
    load()
