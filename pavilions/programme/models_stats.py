"""Visitor statistics, written in batches: daily counters, the distinct visitors of each day and scope, and when
each visitor was last seen (to split visits)."""
from datetime import date

from sqlalchemy import BigInteger, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from expo.extensions import db

EXPO = "expo"  # the scope of expo-wide figures; a pavilion's scope is "pavilion:<id>"


class StatCounter(db.Model):
    """A counter of one day (the expo's time zone), scope and metric: views, visits, plays, play:<media id>."""

    __tablename__ = "stat_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class StatVisitor(db.Model):
    """A visitor (a hash, never a raw id or address) seen on a day in a scope."""

    __tablename__ = "stat_visitors"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


class StatLastSeen(db.Model):
    """When a visitor last viewed a page (epoch seconds): a view 30 minutes after it starts a new visit."""

    __tablename__ = "stat_last_seen"

    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seen: Mapped[float] = mapped_column(Float, index=True)
