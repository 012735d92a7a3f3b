"""The demo week: six themed days from today (expo time zone) and a handful of cloud-class works (idempotent)."""
import io
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from expo.extensions import db
from media import services as media_services
from pavilions.programme import days_services, works_services
from pavilions.programme.models_days import PROGRAMME_HOLDER, Work

DAYS = (
    ("campus-day", "校园日", "Campus Day", "走进校园，学习上网安全的好习惯。", "Good online habits for students.",
     ("campus",)),
    ("telecom-day", "电信日", "Telecom Day", "识别电信网络诈骗，守护钱袋子。", "Spot phone and online scams.",
     ("fraud", "telecom")),
    ("rule-of-law-day", "法治日", "Rule of Law Day", "学习网络安全法律法规。", "The laws that keep the network safe.",
     ("law",)),
    ("finance-day", "金融日", "Finance Day", "守护金融安全，警惕理财陷阱。", "Safe banking and payments.",
     ("finance", "fraud")),
    ("youth-day", "青少年日", "Youth Day", "青少年健康上网，远离网络沉迷。",
     "Healthy and safe online life for young people.", ("campus", "youth")),
    ("personal-information-day", "个人信息保护日", "Personal Information Protection Day",
     "保护个人信息，从每一次授权开始。", "Protect personal data, one permission at a time.",
     ("information", "privacy")),
)
WORKS = (
    {"title": "办公室里的钓鱼邮件", "title_en": "Phishing at the office", "kind": "image", "scenario": "office",
     "topics": ["network_security", "anti_fraud"], "summary": "三张图看懂钓鱼邮件。",
     "colors": ((11, 92, 173), (240, 240, 240))},
    {"title": "居家办公的数据安全", "title_en": "Data security when working from home", "kind": "image",
     "scenario": "epidemic_prevention", "topics": ["data_security"], "summary": "居家办公也要守护数据。",
     "colors": ((23, 107, 44), (230, 240, 200))},
    {"title": "快递单上的个人信息", "title_en": "Personal data on parcel labels", "kind": "article",
     "scenario": "daily_life", "topics": ["personal_information"], "summary": "收到快递后，先处理好快递单。",
     "body": "<h2>快递单要涂掉再扔</h2><p>快递单上有<strong>姓名、电话和住址</strong>，丢弃前请涂抹或撕碎。</p>"},
    {"title": "公共 Wi-Fi 安全指南", "title_en": "Public Wi-Fi, safely", "kind": "article", "scenario": "daily_life",
     "topics": ["network_security", "personal_information"], "summary": "连接公共 Wi-Fi 前想一想。",
     "body": "<h2>不连来历不明的 Wi-Fi</h2><p>在公共场所，不要用免费 Wi-Fi 登录网银或支付。</p>"},
)


def _poster(colors, label):
    image = Image.new("RGB", (1600, 900), colors[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle([160, 360, 1440, 540], fill=colors[1])
    draw.text((200, 430), label, fill=colors[0])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    out.seek(0)
    return out


def _image(curator, colors, label):
    media = media_services.ingest(_poster(colors, label), f"{label}.jpg", curator, PROGRAMME_HOLDER, "image")
    db.session.flush()
    return media


def _works(curator):
    """Create the demo works that are missing; return (work ids by title, media ids to process)."""
    existing = {w.title: w.id for w in db.session.scalars(select(Work))}
    queued = []
    for spec in WORKS:
        if spec["title"] in existing:
            continue
        data = {k: v for k, v in spec.items() if k != "colors"}
        if spec["kind"] == "image":
            media = _image(curator, spec["colors"], spec["title_en"])
            queued.append(media)
            data["media"] = [media.id]
        existing[spec["title"]] = works_services.create_work(curator, data).id
    return existing, queued


def seed_demo(curator, pavilion_slugs, contest_ids=(), broadcast_id=None):
    """Create the publicity week's six themed days, starting today, and the demo works; skip what exists.

    Each day gets the pavilions of PAVILION_SLUGS whose slug names its theme (or, failing that, one in turn),
    the works in turn, the contest of CONTEST_IDS in the same place (one a day) and BROADCAST_ID. Waits for the
    demo images to be processed (a worker must be running); returns the number of days created.
    """
    works, queued = _works(curator)
    work_ids = list(works.values())
    slugs = list(pavilion_slugs)
    start = days_services.today()
    taken = {d.slug for d in days_services.all_days()} | {d.date for d in days_services.all_days()}
    created = 0
    for n, (slug, name, name_en, summary, summary_en, themes) in enumerate(DAYS):
        when = start + timedelta(days=n)
        if slug in taken or when in taken:
            continue
        mine = [s for s in slugs if any(t in s for t in themes)] or slugs[n % len(slugs):][:1]
        banner = _image(curator, ((20 + 30 * n, 60, 140), (250, 250, 250)), name_en)
        queued.append(banner)
        days_services.save_day(curator, {
            "slug": slug, "date": when.isoformat(), "name": name, "name_en": name_en, "summary": summary,
            "summary_en": summary_en, "pavilions": mine, "banner": banner.id,
            "works": work_ids[n % len(work_ids):][:2] if work_ids else [],
            "contests": list(contest_ids)[n:n + 1], **({"broadcast": broadcast_id} if broadcast_id else {})})
        created += 1
    db.session.commit()
    for media in queued:
        media_services.enqueue(media.id, media.kind)
    if queued:
        media_services.wait_until_settled([m.id for m in queued], timeout=180)
    return created
