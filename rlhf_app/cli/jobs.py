"""``rlhf worker``: run queued generation jobs (RQ on RLHF_REDIS_URL)."""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from ..generate import jobs
from . import fail


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs already queued, then exit.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run generation jobs started from the web or the API (needs RLHF_REDIS_URL)."""
    from redis import Redis
    from rq import Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        fail("RLHF_REDIS_URL is not set: set it to the Redis the web app uses, e.g. redis://127.0.0.1:6379/0")
    jobs.WORKER_APP, jobs.WORKER_PID = current_app._get_current_object(), os.getpid()
    rq_worker = Worker([jobs.QUEUE_NAME], connection=Redis.from_url(url))
    click.echo(f"Worker {rq_worker.name} listening on queue '{jobs.QUEUE_NAME}' at {_redacted(url)}.")
    rq_worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    click.echo("Worker stopped; each job's outcome is on its project's generation page.")


def _redacted(url: str) -> str:
    """The Redis URL without its password, if any."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


COMMANDS = [worker]
