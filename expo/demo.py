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
    {"slug": "personal-information", "name": "个人信息保护馆 · Personal Information Protection",
     "summary": "保护个人信息，从每一次授权开始。Protect personal data, one permission at a time.",
     "tags": ["个人信息保护", "privacy"], "colors": ((11, 92, 173), (23, 162, 184)),
     "html": "<h2>守护你的个人信息</h2><p>在安装应用时，只授予<strong>必要的权限</strong>。"
             "不随意扫描来历不明的二维码。</p><p lang=\"en\">Grant apps only the permissions they need, "
             "and never scan QR codes of unknown origin.</p>"},
    {"slug": "anti-fraud", "name": "反电信网络诈骗馆 · Telecom Anti-Fraud",
     "summary": "识别冒充客服、刷单返利等常见骗局。Spot the most common phone and online scams.",
     "tags": ["电信", "anti-fraud"], "colors": ((166, 27, 27), (245, 166, 35)),
     "html": "<h2>三不一多</h2><ul><li>未知链接不点击</li><li>陌生来电不轻信</li><li>个人信息不透露</li>"
             "<li>转账汇款多核实</li></ul><p lang=\"en\">Don't click unknown links, don't trust strange callers, "
             "don't share personal data, and double-check every transfer.</p>"},
    {"slug": "campus-safety", "name": "校园网络安全馆 · Campus Cyber Safety",
     "summary": "给同学们的上网安全课。Online safety lessons for students.",
     "tags": ["校园", "campus"], "colors": ((23, 107, 44), (160, 210, 90)),
     "html": "<h2>强密码，好习惯</h2><p>每个账号使用不同的密码，并开启双重验证。</p>"
             "<p lang=\"en\">Use a different password for every account and turn on two-factor sign-in.</p>"},
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
        media_services.enqueue(media_id)
    states = media_services.wait_until_settled(ids, timeout=120)
    if any(s != "ready" for s in states.values()):
        raise RuntimeError(f"demo images were not processed: {states}; is the worker running?")
    return ids


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
    blocks = [{"kind": "text", "html": spec["html"]},
              {"kind": "image", "media": images, "caption": spec["summary"], "alt": spec["name"]},
              {"kind": "embed", "url": "https://player.bilibili.com/player.html?bvid=BV1GJ411x7h7",
               "title": "Related video (external)"}]
    services.save_draft(pavilion, owner, {"name": spec["name"], "summary": spec["summary"], "tags": spec["tags"],
                                          "blocks": blocks}, pavilion.version)
    revision = services.submit(pavilion, owner)
    services.decide(revision, curator, "approve", "Demo content.")
    db.session.commit()
    return True


def load():
    """Load the demo expo into the configured database and store."""
    from expo import create_app

    app = create_app()
    with app.app_context():
        users = ensure_users()
        loaded = sum(load_pavilion(spec, i, users) for i, spec in enumerate(PAVILIONS))
    print(f"[demo] {loaded} pavilion(s) loaded, {len(PAVILIONS) - loaded} already there. "
          f"Sign in as admin@expo.demo, curator@expo.demo or exhibitor@expo.demo with the password "
          f"'{DEMO_PASSWORD}'.", file=sys.stderr, flush=True)


if __name__ == "__main__":
    load()
