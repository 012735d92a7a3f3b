"""Live broadcasts and the distinct viewers of each (one row per viewer, never one per heartbeat)."""
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expo.extensions import db, new_id, utcnow


class Broadcast(db.Model):
    """A scheduled broadcast: an HLS stream from the streaming service, and an optional replay video."""

    __tablename__ = "broadcasts"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    hls_url: Mapped[str] = mapped_column(String(1000))
    # Plain column: a replay is a pipeline video, and media never points back at the programme.
    replay_media_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LiveViewer(db.Model):
    """A distinct viewer of a broadcast (a hash of the page's random id) and when it was last heard from."""

    __tablename__ = "live_viewers"

    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True)
    viewer: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seen: Mapped[float] = mapped_column(Float, index=True)
