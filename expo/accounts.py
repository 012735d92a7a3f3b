"""Users and API tokens: creation, passwords, sign-in, deactivation."""
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from expo import ratelimit
from expo.errors import Conflict, Invalid, NotFound
from expo.extensions import db
from expo.models import ApiToken, Role, User

_hasher = PasswordHasher()
# Verifying against a fixed hash keeps an unknown e-mail as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MIN_PASSWORD = 8  # NIST SP 800-63B minimum; length beyond that is encouraged, never forced
BAD_LOGIN = "The e-mail or password is wrong, or the account is inactive."


def normalise_email(email):
    return (email or "").strip().lower()


def parse_role(value):
    """Return the Role named VALUE, or raise Invalid listing the roles."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise Invalid(f"Unknown role '{value}'; use one of: {names}.", code="unknown_role") from None


def create_user(email, password, role, display_name=""):
    """Create an active user; the caller commits."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise Invalid(f"'{email}' is not an e-mail address.", code="invalid_email")
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"The password must have at least {MIN_PASSWORD} characters.", code="weak_password")
    role = parse_role(role) if not isinstance(role, Role) else role
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"The e-mail {email} is taken.", code="email_taken")
    user = User(email=email, password_hash=_hasher.hash(password), role=role,
                display_name=(display_name or email.split("@")[0])[:80])
    db.session.add(user)
    db.session.flush()
    return user


def get_user(email):
    """Return the user with EMAIL, or raise NotFound."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No user has the e-mail {normalise_email(email)}.", code="unknown_user")
    return user


def authenticate(email, password, address):
    """Return the user for these credentials, rate-limited per address and per account and address."""
    email = normalise_email(email)
    limit, window = current_app.config["EXPO_LOGIN_LIMIT"], current_app.config["EXPO_LOGIN_WINDOW_S"]
    wait = f"Too many sign-in attempts; wait {window // 60} minutes and try again."
    # Every attempt from an address counts: one password sprayed over many accounts runs out here.
    ratelimit.hit(f"login-ip:{address}", limit * 3, window, wait)
    # Failures lock an account for the address that made them only, so an attacker hammering an account cannot
    # lock its owner out from elsewhere. Once the account draws failures from many addresses (a distributed
    # attack), each address keeps only a couple of tries, so the owner signs in and the attackers barely guess.
    account = f"login-fail:{hashlib.sha256(email.encode()).hexdigest()[:32]}"  # a long e-mail fits the key
    allowance = limit if ratelimit.peek(account, window) < limit * 10 else max(1, limit // 5)
    if ratelimit.peek(f"{account}|{address}", window) >= allowance:
        raise ratelimit.RateLimited(wait)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or not user or not user.active:
        ratelimit.count((f"{account}|{address}", account), window)
        raise Invalid(BAD_LOGIN, code="bad_credentials", status=401)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _digest(token):
    # Tokens carry 256 random bits, so a fast hash is enough; no salt needed.
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(user):
    """Create an API token for USER and return its text, which is never stored."""
    token = "expo_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_digest(token), prefix=token[:12]))
    return token


def user_for_token(token):
    """Return the active user owning TOKEN, or None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked or not row.user.active:
        return None
    return row.user


def set_active(user, active, actor):
    """Activate or deactivate USER; deactivation ends their sessions and tokens at once."""
    if actor is not None and user.id == actor.id and not active:
        raise Conflict("You cannot deactivate your own account.", code="self_deactivation")
    user.active = active
    user.session_epoch += 1
