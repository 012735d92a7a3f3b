"""Pavilions (with their draft), immutable revisions and the append-only decision log."""
from datetime import datetime

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expo.extensions import db, new_id, utcnow
from pavilions.states import Decision, PavilionStatus, RevisionState


def _enum(cls):
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Pavilion(db.Model):
    __tablename__ = "pavilions"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[PavilionStatus] = mapped_column(_enum(PavilionStatus), default=PavilionStatus.DRAFT)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The expo speaks Chinese first: name and summary are the main text, these the English, shown to English
    # visitors when present (each language falls back to the other).
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    summary_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    blocks: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Plain column, not a foreign key: revisions point at pavilions, and a cycle would complicate migrations.
    live_revision_id: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # Set by a curator: featured on the hall, most recently featured first.
    featured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    revisions: Mapped[list["Revision"]] = relationship(back_populates="pavilion", order_by="Revision.number")


class Revision(db.Model):
    """A submitted snapshot of a draft; its content never changes after submission."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("pavilion_id", "number"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pavilion_id: Mapped[str] = mapped_column(ForeignKey("pavilions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[RevisionState] = mapped_column(_enum(RevisionState), default=RevisionState.PENDING, index=True)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    summary_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # ",tag1,tag2," so a tag filter is one portable LIKE on every database.
    tag_index: Mapped[str] = mapped_column(String(500), default=",")
    blocks: Mapped[list] = mapped_column(JSON, default=list)
    draft_version: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    pavilion: Mapped[Pavilion] = relationship(back_populates="revisions")
    decisions: Mapped[list["ReviewDecision"]] = relationship(
        back_populates="revision", order_by="ReviewDecision.created_at")


class ReviewDecision(db.Model):
    """One line of the review log; rows are only ever added."""

    __tablename__ = "review_decisions"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    revision_id: Mapped[str] = mapped_column(ForeignKey("revisions.id"), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decision: Mapped[Decision] = mapped_column(_enum(Decision))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    revision: Mapped[Revision] = relationship(back_populates="decisions")


class EmbedHost(db.Model):
    """A host that embed blocks may frame, added by a curator."""

    __tablename__ = "embed_hosts"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    added_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
