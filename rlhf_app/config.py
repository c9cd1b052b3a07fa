"""Settings: class defaults, then ``RLHF_*`` environment variables, then test overrides."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

PLACEHOLDER_KEYS = {"", "dev", "changeme", "change-me", "secret", "please-change-me", "demo"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The app's settings cannot work; the message says which one and how to fix it."""


class Config:
    SECRET_KEY = ""
    DATABASE_URL = ""  # empty: SQLite file in the instance folder
    EXPORT_DIR = ""  # empty: ./exports
    PROMPTS_DIR = ""  # empty: ./prompts
    REDIS_URL = ""
    DEMO = False
    TESTING = False
    # Hosts (or host:port) that model endpoints may use; "*" allows any public address.
    GENERATION_ALLOWED_HOSTS = "api.openai.com"

    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_IMPORT_BYTES = 64 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "rlhf_session"
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=14)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; experts keep pages open for hours
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    RATELIMIT_HEADERS_ENABLED = True
    # bcrypt-free argon2id parameters: argon2-cffi defaults (RFC 9106 low-memory profile).
    PASSWORD_MIN_LENGTH = 8
    PASSWORD_MAX_LENGTH = 128


def load_config(app: Any, overrides: dict[str, Any] | None) -> None:
    """Apply defaults, ``RLHF_*`` environment variables, then overrides, then fill derived paths."""
    app.config.from_object(Config)
    app.config.from_prefixed_env("RLHF")
    if overrides:
        app.config.update(overrides)
    _fill_defaults(app)


def _fill_defaults(app: Any) -> None:
    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'rlhf.sqlite3'}"
    root = Path(os.getcwd())
    app.config["EXPORT_DIR"] = str(Path(app.config["EXPORT_DIR"] or root / "exports").resolve())
    app.config["PROMPTS_DIR"] = str(Path(app.config["PROMPTS_DIR"] or root / "prompts").resolve())
    if app.config.get("CLI") and not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = os.urandom(32).hex()  # never used to sign anything
    if app.config["DEMO"] or app.config["TESTING"]:
        # Local demo and tests run over plain http on 127.0.0.1.
        app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("FORCE_SECURE_COOKIES", False))
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = os.urandom(32).hex()


def validate_config(app: Any) -> None:
    """Refuse to start with settings that would make the app unsafe or unable to work."""
    key = str(app.config.get("SECRET_KEY") or "")
    if key.lower() in PLACEHOLDER_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "RLHF_SECRET_KEY is missing, a placeholder or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters. Set it to a long random value, for example: "
            "export RLHF_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    url = str(app.config.get("DATABASE_URL") or "")
    if not url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"RLHF_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, not {url!r}")
    export_dir = Path(app.config["EXPORT_DIR"])
    if export_dir.exists() and not export_dir.is_dir():
        raise ConfigError(f"RLHF_EXPORT_DIR {export_dir} exists and is not a folder")
