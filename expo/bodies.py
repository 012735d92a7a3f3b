"""Request bodies of the JSON API."""
from flask import request

from expo.errors import Invalid


def json_object(optional=False):
    """Return the request's JSON object ({} when OPTIONAL and there is no body), or raise Invalid."""
    body = request.get_json(silent=True)
    if body is None and optional:
        return {}
    if not isinstance(body, dict):
        raise Invalid("Send a JSON object with Content-Type: application/json.", code="invalid_body")
    return body
