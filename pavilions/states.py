"""Pavilion and revision states, each with one table of allowed transitions."""
import enum


class PavilionStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"


class RevisionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SUPERSEDE = "supersede"


REVISION_TRANSITIONS = {
    RevisionState.PENDING: {RevisionState.APPROVED, RevisionState.REJECTED, RevisionState.SUPERSEDED},
    RevisionState.APPROVED: set(),
    RevisionState.REJECTED: set(),
    RevisionState.SUPERSEDED: set(),
}

DECISION_TARGET = {
    Decision.APPROVE: RevisionState.APPROVED,
    Decision.REJECT: RevisionState.REJECTED,
    Decision.SUPERSEDE: RevisionState.SUPERSEDED,
}


def can_move(current, target):
    """Tell whether a revision in CURRENT may move to TARGET."""
    return target in REVISION_TRANSITIONS[RevisionState(current)]
