"""Sign-in for the web (sessions) and for the API (bearer tokens)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from expo import accounts, ratelimit
from expo.bodies import json_object
from expo.errors import DomainError, Invalid
from expo.extensions import db, login_manager
from expo.models import User

bp = Blueprint("auth", __name__)
api = Blueprint("auth_api", __name__, url_prefix="/api/v1")


@login_manager.user_loader
def _load_user(session_id):
    user_id, _sep, epoch = session_id.partition(":")
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or not user.active or str(user.session_epoch) != epoch:
        return None
    return user


def bearer_user():
    """Return the owner of the request's `Authorization: Bearer` token, None without one; refuse a bad one."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = accounts.user_for_token(header[7:].strip())
    if user is None:
        from expo.permissions import Unauthenticated

        raise Unauthenticated("The API token is unknown, revoked or belongs to an inactive account.")
    return user


def load_bearer():
    """Resolve `Authorization: Bearer` on API requests into g.api_user."""
    g.api_user = bearer_user()


def safe_next(target):
    """Return TARGET if it is a path on this site, else the hall."""
    # Browsers drop tabs and newlines from a Location ('/\t/evil' becomes '//evil'); a header cannot hold CR/LF.
    if target and any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return url_for("tour.hall")
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("tour.hall")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr)
            db.session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("tour.hall"))


@api.post("/tokens")
def create_token():
    body = json_object()
    if not isinstance(body.get("email"), str) or not isinstance(body.get("password"), str):
        raise Invalid("Send a JSON body with 'email' and 'password'.", code="invalid_body")
    ratelimit.hit(f"token-ip:{request.remote_addr}", 30, 300, "Too many token requests; wait 5 minutes.")
    user = accounts.authenticate(body["email"], body["password"], request.remote_addr)
    token = accounts.mint_token(user)
    db.session.commit()
    return jsonify({"token": token}), 201
