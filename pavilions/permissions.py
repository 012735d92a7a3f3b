"""Who may see or change a pavilion: the owner edits, staff read; everyone else gets 404."""
from expo.errors import NotFound
from expo.extensions import db
from expo.permissions import is_staff
from pavilions.models import Pavilion, Revision

MISSING = "No pavilion with this id is yours."


def for_edit(actor, pavilion_id):
    """Return the pavilion if ACTOR owns it, else raise NotFound (never 403: ids are not confirmed)."""
    pavilion = db.session.get(Pavilion, pavilion_id) if actor else None
    if pavilion is None or pavilion.owner_id != actor.id:
        raise NotFound(MISSING, code="pavilion_not_found")
    return pavilion


def for_read(actor, pavilion_id):
    """Return the pavilion if ACTOR owns it or is staff, else raise NotFound."""
    pavilion = db.session.get(Pavilion, pavilion_id) if actor else None
    if pavilion is None or not (pavilion.owner_id == actor.id or is_staff(actor)):
        raise NotFound(MISSING, code="pavilion_not_found")
    return pavilion


def revision_for_review(actor, revision_id):
    """Return the revision for a curator, else raise NotFound."""
    revision = db.session.get(Revision, revision_id) if is_staff(actor) else None
    if revision is None:
        raise NotFound("No submission has this id.", code="review_not_found")
    return revision
