"""Knowledge contests: question banks, questions, contests and the one attempt each person has."""
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expo.extensions import db, new_id, utcnow

KINDS = ("single", "multiple", "truefalse")


class QuestionBank(db.Model):
    __tablename__ = "question_banks"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    questions: Mapped[list["Question"]] = relationship(order_by="Question.position", back_populates="bank")


class Question(db.Model):
    """A question; `options` is [{"id", "text", "correct"}] with random ids, so an id says nothing of its answer."""

    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    bank_id: Mapped[str] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list] = mapped_column(JSON, default=list)

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")

    def correct_ids(self):
        return {o["id"] for o in self.options if o["correct"]}


class Contest(db.Model):
    """A timed contest over a bank: a fixed list of question ids, or `draw_count` drawn at random per attempt."""

    __tablename__ = "contests"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    bank_id: Mapped[str] = mapped_column(ForeignKey("question_banks.id"), index=True)
    fixed_question_ids: Mapped[list] = mapped_column(JSON, default=list)
    draw_count: Mapped[int] = mapped_column(Integer, default=0)  # 0: the fixed list
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_limit_s: Mapped[int] = mapped_column(Integer)
    pass_score: Mapped[int] = mapped_column(Integer)
    # The pavilion that hosts the contest (its exhibitor's dashboard counts the entries), if any.
    pavilion_id: Mapped[str | None] = mapped_column(ForeignKey("pavilions.id"), nullable=True, index=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    bank: Mapped[QuestionBank] = relationship()

    @property
    def question_count(self):
        return self.draw_count or len(self.fixed_question_ids)


class Attempt(db.Model):
    """One person's attempt; the unique (contest, user) pair is the one-attempt rule, held by the database."""

    __tablename__ = "contest_attempts"
    __table_args__ = (UniqueConstraint("contest_id", "user_id", name="uq_contest_attempts_contest_user"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    contest_id: Mapped[str] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question_ids: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    results: Mapped[list | None] = mapped_column(JSON, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_score: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)

    contest: Mapped[Contest] = relationship()
