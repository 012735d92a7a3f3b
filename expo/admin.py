"""The admin's user pages: list, create, activate and deactivate."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired

from expo import accounts
from expo.errors import DomainError, NotFound
from expo.extensions import db
from expo.models import Role, User
from expo.permissions import current_actor, require

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    display_name = StringField("Display name")
    password = PasswordField("Password", validators=[DataRequired()])
    role = SelectField("Role", choices=[r.value for r in Role])


class ActionForm(FlaskForm):
    """An empty form: it carries only the CSRF token."""


@bp.route("/users", methods=["GET", "POST"])
@require("users.manage")
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.email.data, form.password.data, form.role.data, form.display_name.data)
            db.session.commit()
            flash(_("Created %(email)s as %(role)s.", email=user.email, role=_(user.role.value)), "info")
            return redirect(url_for("admin.users"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    people = db.session.scalars(select(User).order_by(User.created_at.desc()).limit(500))
    return render_template("admin/users.html", form=form, people=people, action=ActionForm())


@bp.post("/users/<user_id>/active")
@require("users.manage")
def set_active(user_id):
    form = ActionForm()
    if not form.validate_on_submit():
        raise DomainError("The form expired; reload the page and try again.", code="csrf_failed")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No user has this id.")
    accounts.set_active(user, request.form.get("active") == "1", current_actor())
    db.session.commit()
    flash(_("%(email)s is now %(state)s.", email=user.email, state=_("active") if user.active else _("inactive")),
          "info")
    return redirect(url_for("admin.users"))
