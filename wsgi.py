"""Entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``."""
from rlhf_app import create_app

app = create_app()
