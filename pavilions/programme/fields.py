"""Checks of the programme's JSON fields, with the error sentences the API returns."""
from expo.errors import Invalid


def text(data, field, limit, required=False, what="It"):
    """Return DATA[FIELD] as stripped text of at most LIMIT characters; WHAT names the thing that needs it."""
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"'{field}' must be text.", code=f"invalid_{field}")
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{what} needs a '{field}'.", code=f"{field}_required")
    if len(value) > limit:
        raise Invalid(f"'{field}' is longer than {limit:,} characters.", code=f"{field}_too_long")
    return value
