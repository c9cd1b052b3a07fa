"""Sign in, sign out and password change."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..common.errors import ValidationError
from ..db import get_session
from ..extensions import limiter
from ..webapp import safe_next_url
from . import service
from .forms import LoginForm, PasswordChangeForm

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    return "account:" + service.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], scope="login-address")
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, scope="login-account")
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            user = service.authenticate(session, form.email.data, form.password.data)
        except service.SignInFailed as exc:
            session.rollback()
            form.password.errors.append(str(exc))
            return render_template("auth/login.html", form=form), 401
        session.commit()
        login_user(user, remember=form.remember.data)
        return redirect(safe_next_url(request.args.get("next")) or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: the session token rotates, so old cookies stop working."""
    session = get_session()
    service.end_all_sessions(session, current_user._get_current_object())
    session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session and remember-me cookie stops working."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        session = get_session()
        user = current_user._get_current_object()
        try:
            service.change_password(session, user, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            session.rollback()
            for field, message in exc.errors.items():
                getattr(form, field).errors.append(message)
            return render_template("auth/password.html", form=form), 422
        session.commit()
        login_user(user)  # this browser keeps working with the new session token
        flash("Your password is changed. Other sessions were signed out.", "success")
        return redirect(url_for("dashboard.home"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
