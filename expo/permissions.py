"""Role checks, in one place: which role may do which action."""
from functools import wraps

from flask import g, redirect, request, url_for
from flask_login import current_user

from expo.errors import DomainError, Forbidden
from expo.models import Role

STAFF = {Role.CURATOR, Role.ADMIN}
POLICY = {
    "pavilion.create": {Role.EXHIBITOR, Role.ADMIN},
    "pavilion.edit": {Role.EXHIBITOR, Role.ADMIN},
    "pavilion.read": {Role.EXHIBITOR, Role.CURATOR, Role.ADMIN},
    "media.upload": {Role.EXHIBITOR, Role.ADMIN},
    "review": STAFF,
    "contest.manage": STAFF,
    # Curators and admins see the answers, so they never take a contest.
    "contest.take": {Role.VISITOR, Role.EXHIBITOR},
    "users.manage": {Role.ADMIN},
}


class Unauthenticated(DomainError):
    status, code = 401, "unauthorized"


def current_actor():
    """Return the acting user: the API token's owner on API calls, else the session user."""
    if request.path.startswith("/api/"):
        return g.get("api_user")
    return current_user if current_user.is_authenticated else None


def allowed(user, action):
    """Tell whether USER's role permits ACTION."""
    return user is not None and user.role in POLICY[action]


def is_staff(user):
    return user is not None and user.role in STAFF


def require(action):
    """Decorate a view so that only roles permitted ACTION reach it."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if actor is None:
                if request.path.startswith("/api/"):
                    raise Unauthenticated("Send a valid API token in the Authorization header.")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not allowed(actor, action):
                raise Forbidden("Your account's role does not allow this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_login(view):
    """Decorate a web view so that only signed-in users reach it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_actor() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
