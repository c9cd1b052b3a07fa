"""rlhf-app: paid domain experts judge LLM answers; labs export what they judged."""
from __future__ import annotations

from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: config, database, extensions, blueprints, CLI, templates."""
    from . import config, db, webapp
    from .cli import register_cli

    app = Flask(__name__, instance_relative_config=True)
    config.load_config(app, overrides)
    config.validate_config(app)
    db.init_app(app)
    webapp.init_extensions(app)
    webapp.register_blueprints(app)
    webapp.register_error_handlers(app)
    webapp.register_security_headers(app)
    webapp.register_template_helpers(app)
    register_cli(app)
    return app
