"""Command-line tools: `flask --app expo user|token|media ...`."""
import sys

import click
from flask.cli import AppGroup

from expo import accounts
from expo.errors import DomainError
from expo.extensions import db

user_cli = AppGroup("user", help="Manage users.")
token_cli = AppGroup("token", help="Manage API tokens.")
media_cli = AppGroup("media", help="Manage media items.")


def _fail(message):
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _user(email):
    """Return the user with EMAIL, or exit with the reason."""
    try:
        return accounts.get_user(email)
    except DomainError as error:
        _fail(error.message)


def _password():
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@user_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, help="visitor, exhibitor, curator or admin")
@click.option("--name", default="", help="Display name")
def create_user(email, role, name):
    """Create a user; the password is read from standard input."""
    try:
        accounts.parse_role(role)
        if db.session.scalar(db.select(accounts.User.id).where(accounts.User.email == accounts.normalise_email(email))):
            _fail(f"The e-mail {accounts.normalise_email(email)} is taken.")
        user = accounts.create_user(email, _password(), role, name)
        db.session.commit()
    except DomainError as error:
        _fail(error.message)
    click.echo(f"Created {user.email} ({user.role.value}).")


@user_cli.command("deactivate")
@click.argument("email")
def deactivate_user(email):
    """Deactivate a user: their sessions and tokens stop working at once."""
    user = _user(email)
    accounts.set_active(user, False, actor=None)
    db.session.commit()
    click.echo(f"Deactivated {user.email}.")


@token_cli.command("create")
@click.argument("email")
def create_token(email):
    """Mint an API token and print it alone on the last line."""
    user = _user(email)
    if not user.active:
        _fail(f"{user.email} is inactive; activate the account first.")
    token = accounts.mint_token(user)
    db.session.commit()
    click.echo(f"Token for {user.email} (shown once; store it safely):")
    click.echo(token)


@token_cli.command("revoke")
@click.argument("email")
def revoke_tokens(email):
    """Revoke every API token of a user (rotation: mint a new one after); their sign-ins are untouched."""
    from sqlalchemy import update

    from expo.models import ApiToken

    user = _user(email)
    revoked = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                                 .values(revoked=True)).rowcount
    db.session.commit()
    click.echo(f"Revoked {revoked} token(s) of {user.email}.")


@media_cli.command("reprocess")
@click.argument("media_id")
def reprocess(media_id):
    """Queue a media item for a fresh processing run."""
    from media import processing, services
    from media.models import Media

    media = db.session.get(Media, media_id)
    if media is None:
        _fail(f"No media item has the id {media_id}.")
    if (media.meta or {}).get("original_deleted"):
        _fail(f"The original of {media_id} was deleted after its retention period; ask the exhibitor to upload "
              "it again.")
    processing.requeue(media, "reprocessing on request")
    media.tries = 0
    db.session.commit()
    services.enqueue(media.id, media.kind)
    click.echo(f"Queued {media.id} for processing.")


def register(app):
    """Add the command groups to APP's CLI."""
    for group in (user_cli, token_cli, media_cli):
        app.cli.add_command(group)
