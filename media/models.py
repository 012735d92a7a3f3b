"""Media items and the record of every processing attempt."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expo.extensions import db, new_id, utcnow
from media.states import MediaKind, MediaStatus, UploadState


def _enum(cls):
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Media(db.Model):
    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    pavilion_id: Mapped[str] = mapped_column(String(24), index=True)
    kind: Mapped[MediaKind] = mapped_column(_enum(MediaKind))
    status: Mapped[MediaStatus] = mapped_column(_enum(MediaStatus), default=MediaStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    filename: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    original_key: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    renditions: Mapped[dict] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the exhibitor sees beside the status, e.g. "retrying: the store is unreachable".
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    attempts: Mapped[list["MediaAttempt"]] = relationship(
        back_populates="media", order_by="MediaAttempt.started_at", cascade="all, delete-orphan")

    @property
    def error(self):
        if self.error_code is None:
            return None
        return {"code": self.error_code, "message": self.error_message}


class MediaAttempt(db.Model):
    """One processing run of a media item: when, with what, and how it ended."""

    __tablename__ = "media_attempts"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    media_id: Mapped[str] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str] = mapped_column(String(24))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)

    media: Mapped[Media] = relationship(back_populates="attempts")


class Upload(db.Model):
    """A direct-to-storage multipart upload, before it becomes a media item."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    pavilion_id: Mapped[str] = mapped_column(String(24), index=True)
    media_id: Mapped[str] = mapped_column(String(24), unique=True)
    key: Mapped[str] = mapped_column(String(200))
    s3_upload_id: Mapped[str] = mapped_column(String(400))
    filename: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(BigInteger)
    declared_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[UploadState] = mapped_column(_enum(UploadState), default=UploadState.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
