"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): no 5xx, every error in the contract's shape.

The fuzzer creates pavilions, days, works, contests and broadcasts at random, so it runs on an app of its own with a
database of its own (a second SQLite file, or a second PostgreSQL database beside the configured one): the rest of the
suite never sees what it made.
"""
import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

EXAMPLES = int(os.environ.get("EXPO_FUZZ_EXAMPLES", "25"))


def _own_database(url, root):
    """Return the URL of an empty database for the fuzzer, beside the one the suite uses."""
    if not url.startswith("postgresql"):
        return f"sqlite:///{root / 'fuzz.sqlite'}"
    target = make_url(url)
    name = f"{target.database}_fuzz"
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return target.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def fuzz_app(stack, app):
    """An app on the session's store and broker with a database of its own, migrated, and a token per role."""
    import flask_migrate

    from config import TestConfig
    from expo import accounts, create_app
    from expo.extensions import db

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = _own_database(stack.env["EXPO_DATABASE_URL"], stack.root)
    application = create_app(config)
    tokens = {}
    with application.app_context():
        flask_migrate.upgrade(revision="heads")
        for role in ("visitor", "exhibitor", "curator", "admin"):
            user = accounts.create_user(f"fuzz-{role}@test.expo", "correct-horse-battery", role)
            tokens[role] = accounts.mint_token(user)
        db.session.commit()
    application.extensions["fuzz_tokens"] = tokens
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schemathesis.check
def error_in_contract_shape(ctx, response, case):
    """Every 4xx or 5xx answer of the API is {"error": {"code", "message"}}, the message a sentence."""
    if response.status_code < 400:
        return None
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"{response.status_code} answered as {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the contract's error shape: {body!r}"
    error = body["error"]
    assert isinstance(error, dict) and set(error) >= {"code", "message"}, f"error without code or message: {body!r}"
    assert isinstance(error["code"], str) and error["code"], body
    message = error["message"]
    assert isinstance(message, str) and len(message) > 10 and message.rstrip()[-1] in ".!?;)", \
        f"the message is not a sentence a person can act on: {message!r}"
    return None


_roles = itertools.cycle(["curator", "exhibitor", None, "admin", "visitor"])


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_api_answers_every_generated_request_without_a_server_error(case, fuzz_app):
    """Each operation, called by each role in turn (and anonymously), with data valid and invalid by the schema."""
    role = next(_roles)
    headers = {"Authorization": f"Bearer {fuzz_app.extensions['fuzz_tokens'][role]}"} if role else {}
    headers["X-Forwarded-For"] = "203.0.113.9"  # one fuzzing address; rate limits answer 429 in the error shape
    case.call_and_validate(headers=headers, checks=[not_a_server_error, error_in_contract_shape])
