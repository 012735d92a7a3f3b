"""The interface languages: the visitor's language switch, and the labels templates translate at run time."""
from flask import Blueprint, current_app, redirect, request

from expo.auth import safe_next

COOKIE_AGE = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def N_(message):
    """Mark MESSAGE for extraction (gettext's no-op marker, a default Babel keyword); it is translated where shown."""
    return message


# Enum values and block kinds that templates pass to _() at run time (`_(pavilion.status.value)`); extraction
# cannot see those, so they are listed here. tests/test_i18n.py checks this list against the enums.
RUNTIME_LABELS = (
    # pavilions.states: PavilionStatus, RevisionState, Decision
    N_("draft"), N_("submitted"), N_("published"), N_("rejected"),
    N_("pending"), N_("approved"), N_("superseded"),
    N_("approve"), N_("reject"), N_("supersede"),
    # media.states: MediaStatus, MediaKind; pavilions.blocks.KINDS
    N_("queued"), N_("processing"), N_("ready"), N_("failed"),
    N_("image"), N_("audio"), N_("video"), N_("h5"), N_("panorama"), N_("captions"), N_("text"), N_("embed"),
    # pavilions.queries.changes: the fields of a revision that can change
    N_("name"), N_("summary"), N_("tags"),
    # expo.models.Role
    N_("visitor"), N_("exhibitor"), N_("curator"), N_("admin"),
)


# The codes are the `lang` cookie values that expo._locale accepts.
@bp.get("/lang/<any(zh_CN, en):code>")
def set_language(code):
    """Remember the chosen language for a year and go back to the page the visitor came from."""
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie("lang", code, max_age=COOKIE_AGE, samesite="Lax", httponly=True,
                        secure=bool(current_app.config.get("EXPO_SECURE_COOKIES")))
    # The answer is one visitor's choice: no shared cache may replay its Set-Cookie to someone else.
    response.headers["Cache-Control"] = "private, no-store"
    return response
