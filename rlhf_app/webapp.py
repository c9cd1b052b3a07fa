"""Web plumbing for the factory: extensions, blueprints, errors, headers, template helpers."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy.exc
from flask import Flask, current_app, jsonify, render_template, request
from flask_login import AnonymousUserMixin
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from .common.errors import DomainError
from .common.markdown import render_markdown
from .extensions import csrf, limiter, login_manager

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_extensions(app: Flask) -> None:
    from .auth.loaders import load_user_from_request, load_user_from_session

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _csrf_unless_bearer below
    csrf.init_app(app)
    app.before_request(_csrf_unless_bearer)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"
    login_manager.anonymous_user = AnonymousUserMixin
    login_manager.user_loader(load_user_from_session)
    login_manager.request_loader(load_user_from_request)
    login_manager.unauthorized_handler(_unauthorized)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)


def _csrf_unless_bearer() -> None:
    """CSRF on every state-changing request, except API calls authenticated by a bearer token."""
    from flask import g
    from flask_login import current_user

    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or not app_csrf_enabled():
        return
    if is_api_request() and current_user.is_authenticated and "api_token" in g:
        return
    csrf.protect()


def app_csrf_enabled() -> bool:
    return bool(current_app.config.get("WTF_CSRF_ENABLED", True))


def register_blueprints(app: Flask) -> None:
    from .annotate.views import bp as annotate_bp
    from .api.export import bp as api_export_bp
    from .api.generation import bp as api_generation_bp
    from .api.tasks import bp as api_tasks_bp
    from .api.views import bp as api_bp
    from .auth.views import bp as auth_bp
    from .dashboard.views import bp as dashboard_bp
    from .export.views import bp as export_bp
    from .generate.views import bp as generate_bp
    from .projects.views import bp as projects_bp

    for blueprint in (auth_bp, dashboard_bp, projects_bp, api_bp, annotate_bp, api_tasks_bp, export_bp, api_export_bp, generate_bp, api_generation_bp):
        app.register_blueprint(blueprint)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None):
    """JSON under /api, an HTML page elsewhere; never a stack trace."""
    if is_api_request():
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, details=details or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return error_response(exc.code or 500, _http_code(exc), _http_message(exc))

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def _database_unavailable(exc: Exception):
        current_app.logger.warning("database unavailable: %s", type(exc).__name__)
        body, status = error_response(503, "unavailable", "The database is unavailable; nothing was saved. Try again shortly.")
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        current_app.logger.exception("unhandled error")
        return error_response(500, "internal", "Something went wrong on our side; nothing was saved.")


def _http_code(exc: HTTPException) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}.get(exc.code or 500, "error")


def _http_message(exc: HTTPException) -> str:
    messages = {
        403: "You do not have access to this page.",
        404: "There is nothing here, or you do not have access to it.",
        413: "The request is larger than this server accepts.",
        429: "Too many attempts. Wait a minute and try again.",
    }
    if exc.code == 400 and "CSRF" in (exc.description or ""):
        return "The form expired or was sent from another site. Reload the page and try again."
    return messages.get(exc.code or 500, exc.description or "The request could not be handled.")


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/") or response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _unauthorized():
    from flask import flash, redirect, url_for

    if is_api_request():
        return error_response(401, "unauthorized", "Send a valid API token as 'Authorization: Bearer <token>'.")
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=safe_next_url(request.full_path)))


def safe_next_url(target: str | None) -> str | None:
    """Return ``target`` when it is a same-origin path, else None (no open redirects)."""
    if not target:
        return None
    if any(ch in target for ch in "\\\t\r\n") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?") or "/"


def register_template_helpers(app: Flask) -> None:
    @app.template_filter("markdown")
    def _markdown(text: str | None) -> Markup:
        # render_markdown sanitises with nh3 (see common/markdown.py) before we trust it.
        return Markup(render_markdown(text or ""))

    @app.template_filter("money")
    def _money(cents: int | None) -> str:
        cents = int(cents or 0)
        sign = "-" if cents < 0 else ""
        return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"

    @app.template_filter("duration")
    def _duration(seconds: int | None) -> str:
        seconds = int(seconds or 0)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    app.jinja_env.globals["app_version"] = __import__("rlhf_app").__version__
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions
    app.jinja_env.globals["nav_items"] = _nav_items


# (label, endpoint, roles allowed besides admin); items whose endpoint is not registered are hidden.
NAV = [
    ("Next task", "annotate.next_task", ("expert",)),
    ("Review queue", "review.queue", ("reviewer",)),
    ("Projects", "projects.index", ("lab", "reviewer")),
    ("Exports", "export.index", ("lab",)),
]


def _nav_items() -> list[dict[str, str]]:
    from flask import url_for
    from flask_login import current_user

    role = current_user.role.value
    return [
        {"label": label, "url": url_for(endpoint)}
        for label, endpoint, roles in NAV
        if endpoint in current_app.view_functions and (role in roles or role == "admin")
    ]
