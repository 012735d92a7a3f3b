"""Themed days of the publicity week and the cloud class's works."""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expo.extensions import db, new_id, utcnow

# Media of works and day banners are uploaded by curators, outside any pavilion: they carry this value in
# Media.pavilion_id, so media.services.set_public can publish exactly the programme's media in one statement.
PROGRAMME_HOLDER = "programme"


class ThemedDay(db.Model):
    """One day of the week with a theme; the hall features it on its date."""

    __tablename__ = "themed_days"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    banner_media_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # Contests and broadcasts belong to other parts of the programme: plain ids, no foreign keys.
    contest_ids: Mapped[list] = mapped_column(JSON, default=list)
    broadcast_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    pavilion_links: Mapped[list["DayPavilion"]] = relationship(
        order_by="DayPavilion.position", cascade="all, delete-orphan")
    work_links: Mapped[list["DayWork"]] = relationship(order_by="DayWork.position", cascade="all, delete-orphan")


class DayPavilion(db.Model):
    __tablename__ = "day_pavilions"

    day_id: Mapped[str] = mapped_column(ForeignKey("themed_days.id", ondelete="CASCADE"), primary_key=True)
    pavilion_id: Mapped[str] = mapped_column(ForeignKey("pavilions.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DayWork(db.Model):
    __tablename__ = "day_works"

    day_id: Mapped[str] = mapped_column(ForeignKey("themed_days.id", ondelete="CASCADE"), primary_key=True)
    work_id: Mapped[str] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Work(db.Model):
    """A cloud-class work: a video, audio, image set, H5 page or article with a scenario and topics."""

    __tablename__ = "works"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), index=True)
    scenario: Mapped[str] = mapped_column(String(32), index=True)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    # ",topic1,topic2," so a topic filter is one portable LIKE on every database.
    topic_index: Mapped[str] = mapped_column(String(500), default=",")
    media: Mapped[list] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
