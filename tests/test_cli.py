"""The contract's commands, run as an operator would: `flask --app expo user|token create`."""
import os
import subprocess
import sys

from tests.conftest import PASSWORD, ROOT


def flask(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "expo", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=os.environ.copy(), timeout=60)


def test_user_create_then_token_create_gives_a_working_token(app, client):
    email = f"cli-{os.getpid()}@test.expo"
    made = flask("user", "create", email, "--role", "curator", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    minted = flask("token", "create", email)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip().splitlines()[-1]
    assert token.startswith("expo_") and " " not in token
    assert client.get("/api/v1/reviews", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    login = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert login.status_code == 201


def test_taken_email_and_unknown_role_fail_with_one_line(app):
    email = f"cli-dup-{os.getpid()}@test.expo"
    assert flask("user", "create", email, "--role", "exhibitor", stdin=PASSWORD + "\n").returncode == 0
    again = flask("user", "create", email, "--role", "exhibitor", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and again.stderr.strip().count("\n") == 0 and "taken" in again.stderr
    role = flask("user", "create", f"x{email}", "--role", "emperor", stdin=PASSWORD + "\n")
    assert role.returncode != 0 and role.stderr.strip().count("\n") == 0 and "visitor, exhibitor" in role.stderr


def test_short_password_and_unknown_user_are_explained(app):
    short = flask("user", "create", f"short-{os.getpid()}@test.expo", "--role", "visitor", stdin="abc\n")
    assert short.returncode != 0 and "at least 8 characters" in short.stderr
    missing = flask("token", "create", "nobody-at-all@test.expo")
    assert missing.returncode != 0 and "No user has the e-mail" in missing.stderr


def test_deactivated_user_tokens_stop_at_once(app, client, make_user):
    user = make_user("exhibitor")
    headers = {"Authorization": f"Bearer {user.token}"}
    assert client.post("/api/v1/pavilions", json={"name": "Before"}, headers=headers).status_code == 201
    assert flask("user", "deactivate", user.email).returncode == 0
    assert client.post("/api/v1/pavilions", json={"name": "After"}, headers=headers).status_code == 401
    assert flask("token", "create", user.email).returncode != 0


def test_db_upgrade_is_idempotent(app):
    answer = flask("db", "upgrade")
    assert answer.returncode == 0, answer.stderr


def test_token_revoke_rotates_a_users_api_tokens(app, client, make_user):
    user = make_user("exhibitor")
    old = {"Authorization": f"Bearer {user.token}"}
    assert client.get("/api/v1/pavilions", headers=old).status_code == 200
    revoked = flask("token", "revoke", user.email)
    assert revoked.returncode == 0 and "Revoked 1 token(s)" in revoked.stdout, revoked.stderr
    refused = client.post("/api/v1/pavilions", json={"name": "After rotation"}, headers=old)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    minted = flask("token", "create", user.email).stdout.strip().splitlines()[-1]
    made = client.post("/api/v1/pavilions", json={"name": "After rotation"},
                       headers={"Authorization": f"Bearer {minted}"})
    assert made.status_code == 201
