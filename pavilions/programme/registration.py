"""Visitor sign-up: a visitor account from an e-mail, a password and the name shown on leaderboards."""
from expo import accounts, ratelimit
from expo.errors import Conflict, Invalid
from expo.models import Role

MAX_DISPLAY_NAME = 40
REGISTER_LIMIT, REGISTER_WINDOW_S = 5, 3600  # sign-ups per address per hour: a classroom NAT still fits
TAKEN = "This e-mail cannot be used to register; if it is yours, sign in instead."


def display_name(value):
    """Return VALUE as a display name, or raise Invalid: 1 to MAX_DISPLAY_NAME printable characters."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Choose a display name: it is shown on the contest leaderboards.", code="display_name_required")
    value = " ".join(value.split())
    if len(value) > MAX_DISPLAY_NAME:
        raise Invalid(f"The display name is longer than {MAX_DISPLAY_NAME} characters.", code="display_name_too_long")
    if not value.isprintable():
        raise Invalid("The display name may not contain control characters.", code="invalid_display_name")
    return value


def register(email, password, name, address):
    """Create a visitor account, rate-limited per ADDRESS; the caller commits."""
    for field, value in (("email", email), ("password", password)):
        if not isinstance(value, str):
            raise Invalid(f"Send '{field}' as text.", code="invalid_body")
    name = display_name(name)
    ratelimit.hit(f"register-ip:{address}", REGISTER_LIMIT, REGISTER_WINDOW_S,
                  "Too many accounts were registered from this network; wait an hour and try again.")
    try:
        return accounts.create_user(email, password, Role.VISITOR, name)
    except Conflict:
        # The same sentence for every taken address: it does not echo the e-mail back.
        raise Conflict(TAKEN, code="email_taken") from None
