"""Pavilion rules: create, edit the draft, submit, decide. Each takes the acting user."""
import re
import secrets
import unicodedata
from types import SimpleNamespace

from sqlalchemy import func, select, update

from expo.errors import Conflict, Invalid, NotFound
from expo.extensions import db, utcnow
from media import services as media_services
from media.states import MediaKind, MediaStatus
from pavilions import blocks as block_rules
from pavilions import embeds, search
from pavilions.models import Pavilion, ReviewDecision, Revision
from pavilions.states import DECISION_TARGET, Decision, PavilionStatus, RevisionState, can_move

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slugify(name):
    """Return an ASCII slug for NAME, or a random one when NAME has no ASCII letters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48]
    return slug if len(slug) >= 3 else f"pavilion-{secrets.token_hex(3)}"


def _name(value):
    if not isinstance(value, str) or not value.strip():
        raise Invalid("A pavilion needs a name.", code="name_required")
    if len(value.strip()) > 120:
        raise Invalid("The name is longer than 120 characters.", code="name_too_long")
    return value.strip()


def _summary(value):
    if value is not None and not isinstance(value, str):
        raise Invalid("'summary' must be text.", code="invalid_summary")
    if value and len(value) > 2000:
        raise Invalid("The summary is longer than 2,000 characters.", code="summary_too_long")
    return (value or "").strip()


def _name_en(value):
    if value is not None and not isinstance(value, str):
        raise Invalid("'name_en' must be text.", code="invalid_name")
    if value and len(value.strip()) > 120:
        raise Invalid("The English name is longer than 120 characters.", code="name_too_long")
    return (value or "").strip()


def _slug_taken(slug):
    return db.session.scalar(select(Pavilion.id).where(Pavilion.slug == slug)) is not None


def create_pavilion(actor, name, slug=None, summary=""):
    """Create a pavilion owned by ACTOR with an empty draft."""
    name = _name(name)
    if slug is not None and not (isinstance(slug, str) and SLUG_RE.match(slug)):
        raise Invalid("The slug may use a-z, 0-9 and '-', 1 to 64 characters, not starting or ending with '-'.",
                      code="invalid_slug")
    if slug and _slug_taken(slug):
        raise Conflict(f"The address '{slug}' is taken; choose another slug.", code="slug_taken")
    if not slug:
        slug = slugify(name)
        while _slug_taken(slug):
            slug = f"{slugify(name)[:42]}-{secrets.token_hex(2)}"
    pavilion = Pavilion(slug=slug, owner_id=actor.id, name=name, summary=_summary(summary), tags=[], blocks=[])
    db.session.add(pavilion)
    db.session.flush()
    return pavilion


def draft(pavilion):
    """Return the draft in its API form, with the review history (newest first)."""
    reviews = [{"id": r.id, "number": r.number, "state": str(r.state), "submitted_at": r.submitted_at.isoformat(),
                "decisions": [{"decision": str(d.decision), "reason": d.reason, "at": d.created_at.isoformat()}
                              for d in r.decisions]} for r in reversed(pavilion.revisions)]
    return {"id": pavilion.id, "slug": pavilion.slug, "status": str(pavilion.status), "version": pavilion.version,
            "name": pavilion.name, "summary": pavilion.summary, "name_en": pavilion.name_en,
            "summary_en": pavilion.summary_en, "tags": pavilion.tags, "blocks": pavilion.blocks,
            "live_revision_id": pavilion.live_revision_id, "reviews": reviews}


def _check_media(pavilion, blocks):
    found = media_services.load_many({ref for _i, _k, ref in block_rules.media_refs(blocks)})
    for index, kind, media_id in block_rules.media_refs(blocks):
        media = found.get(media_id)
        if media is None or media.pavilion_id != pavilion.id:
            raise Invalid(f"Block {index + 1}: media {media_id} was not uploaded to this pavilion.",
                          code="unknown_media")
        expected = block_rules.REF_KIND[kind]
        if expected and media.kind != expected:
            raise Invalid(f"Block {index + 1}: media {media_id} is {media.kind}, not {expected}.",
                          code="media_kind_mismatch")


def save_draft(pavilion, actor, data, version):
    """Replace the draft if VERSION is current; raise Conflict if someone saved since."""
    if not isinstance(data, dict):
        raise Invalid("Send the draft as a JSON object.", code="invalid_body")
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid("Send the 'version' you read the draft at.", code="version_required")
    blocks = block_rules.clean_blocks(data.get("blocks", []), embeds.allowed_hosts())
    _check_media(pavilion, blocks)
    values = {"name": _name(data.get("name", pavilion.name)), "summary": _summary(data.get("summary")),
              "name_en": _name_en(data.get("name_en", pavilion.name_en)),
              "summary_en": _summary(data.get("summary_en", pavilion.summary_en)),
              "tags": block_rules.clean_tags(data.get("tags")), "blocks": blocks, "version": version + 1,
              "updated_at": utcnow()}
    if pavilion.status != PavilionStatus.SUBMITTED:
        values["status"] = PavilionStatus.DRAFT
    # Compare-and-set in one statement, so two web nodes can never both win.
    done = db.session.execute(update(Pavilion).where(Pavilion.id == pavilion.id, Pavilion.version == version)
                              .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("Someone saved this draft after you opened it; reload it, then make your change again.",
                       code="stale_version")
    db.session.refresh(pavilion)
    return pavilion


def attach_media(pavilion, actor, block_id, media_id):
    """Put MEDIA_ID into block BLOCK_ID of the draft (an image block gains it; others take it; a video block takes
    captions as its captions); the draft is saved at its current version."""
    blocks = [dict(b) for b in pavilion.blocks]
    block = next((b for b in blocks if b.get("id") == block_id), None)
    if block is None:
        raise NotFound("The draft has no such block any more; reload the editor.", code="block_not_found")
    media = media_services.load_many([media_id]).get(media_id)
    if media is None or media.pavilion_id != pavilion.id:
        raise NotFound("No media item with this id is yours.", code="media_not_found")
    if block["kind"] == "image" and media.kind == MediaKind.IMAGE:
        block["media"] = [*[m for m in block.get("media") or [] if m != media_id], media_id]
    elif block["kind"] == "video" and media.kind == MediaKind.CAPTIONS:
        block["captions"] = media_id
    elif block_rules.REF_KIND.get(block["kind"]) == media.kind:
        block["media"] = media_id
    else:
        raise Invalid(f"This upload is {media.kind}; the block takes {block['kind']}. Upload a matching file, or "
                      "add a block of the right kind.", code="media_kind_mismatch")
    data = {"name": pavilion.name, "summary": pavilion.summary, "name_en": pavilion.name_en,
            "summary_en": pavilion.summary_en, "tags": pavilion.tags, "blocks": blocks}
    return save_draft(pavilion, actor, data, pavilion.version)


def set_featured(pavilion, featured):
    """Feature PAVILION on the hall (or stop); only a published pavilion can be featured."""
    if featured and not pavilion.live_revision_id:
        raise Conflict("Only a published pavilion can be featured.", code="not_published")
    pavilion.featured_at = utcnow() if featured else None


def preview_content(pavilion, data):
    """Clean DATA as save_draft would, without saving: the content the live preview shows of unsaved edits."""
    if not isinstance(data, dict):
        raise Invalid("Send the draft as a JSON object.", code="invalid_body")
    blocks = block_rules.clean_blocks(data.get("blocks", []), embeds.allowed_hosts())
    _check_media(pavilion, blocks)
    return SimpleNamespace(name=_name(data.get("name", pavilion.name)), summary=_summary(data.get("summary")),
                           name_en=_name_en(data.get("name_en", pavilion.name_en)),
                           summary_en=_summary(data.get("summary_en", pavilion.summary_en)),
                           tags=block_rules.clean_tags(data.get("tags")), blocks=blocks)


def pending_revision(pavilion):
    return db.session.scalar(select(Revision).where(Revision.pavilion_id == pavilion.id,
                                                    Revision.state == RevisionState.PENDING))


def _log(revision, actor, decision, reason=""):
    target = DECISION_TARGET[decision]
    if not can_move(revision.state, target):
        raise Conflict(f"This submission was already {revision.state}; it cannot be decided again.",
                       code="already_decided")
    revision.state = target
    db.session.add(ReviewDecision(revision=revision, actor_id=actor.id if actor else None,
                                  decision=decision, reason=reason))


def submit(pavilion, actor):
    """Snapshot the draft as a revision for review; every media item must be ready."""
    not_ready = [ref for _i, _k, ref in block_rules.media_refs(pavilion.blocks)]
    states = {m.id: m.status for m in media_services.load_many(not_ready).values()}
    waiting = [ref for ref in not_ready if states.get(ref) != MediaStatus.READY]
    if waiting:
        raise Conflict(f"{len(waiting)} media item(s) are not ready yet ({', '.join(waiting[:5])}); wait for "
                       "processing to finish, or replace failed items, then submit again.", code="media_not_ready")
    if not pavilion.blocks:
        raise Conflict("The draft has no blocks; add some content before submitting.", code="empty_draft")
    empty = block_rules.missing_media(pavilion.blocks)
    if empty:
        raise Conflict(f"Block {', '.join(map(str, empty))} has no media chosen yet; choose an upload or remove "
                       "the block, then submit again.", code="media_missing")
    previous = pending_revision(pavilion)
    if previous is not None:
        _log(previous, actor, Decision.SUPERSEDE, "A newer version was submitted.")
    number = (db.session.scalar(select(func.max(Revision.number)).where(Revision.pavilion_id == pavilion.id)) or 0)
    revision = Revision(pavilion=pavilion, number=number + 1, name=pavilion.name, summary=pavilion.summary,
                        name_en=pavilion.name_en or "", summary_en=pavilion.summary_en or "",
                        tags=list(pavilion.tags), tag_index="," + "".join(f"{t}," for t in pavilion.tags),
                        blocks=list(pavilion.blocks), draft_version=pavilion.version,
                        submitted_by=actor.id)
    db.session.add(revision)
    pavilion.status = PavilionStatus.SUBMITTED
    db.session.flush()
    return revision


def decide(revision, curator, decision, reason):
    """Approve (publish) or reject a pending revision; the decision is appended to the log."""
    try:
        decision = Decision(decision)
    except ValueError:
        raise Invalid("'decision' must be 'approve' or 'reject'.", code="invalid_decision") from None
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if decision == Decision.SUPERSEDE:
        raise Invalid("'decision' must be 'approve' or 'reject'.", code="invalid_decision")
    if decision == Decision.REJECT and not reason:
        raise Invalid("A rejection needs a reason that tells the exhibitor what to change.", code="reason_required")
    if len(reason) > 2000:
        raise Invalid("The reason is longer than 2,000 characters.", code="reason_too_long")
    _log(revision, curator, decision, reason)
    pavilion = revision.pavilion
    unchanged = pavilion.version == revision.draft_version
    if decision == Decision.APPROVE:
        pavilion.live_revision_id = revision.id
        pavilion.published_at = utcnow()
        media_services.set_public(pavilion.id, {ref for _i, _k, ref in block_rules.media_refs(revision.blocks)})
        search.index(pavilion, revision)
        pavilion.status = PavilionStatus.PUBLISHED if unchanged else PavilionStatus.DRAFT
    else:
        pavilion.status = PavilionStatus.REJECTED if unchanged else PavilionStatus.DRAFT
    return revision
