"""Generation jobs through RQ on Redis: the web and API enqueue them, ``rlhf worker`` runs them."""
from __future__ import annotations

import os
from typing import Any

from . import service

QUEUE_NAME = "generation"
JOB_TIMEOUT_SECONDS = 24 * 3600
WORKER_APP: Any = None  # set by ``rlhf worker``; otherwise each job builds the app from RLHF_* variables
WORKER_PID: int | None = None  # the process that set WORKER_APP; RQ forks a work-horse per job


def enqueue_generation(redis_url: str, job_id: int) -> str:
    """Put the job on the generation queue; return RQ's id for it."""
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url, socket_connect_timeout=5))
    rq_job = queue.enqueue(run_generation_job, job_id, job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=7 * 86400,
                           failure_ttl=30 * 86400, description=f"generation job {job_id}")
    return rq_job.id


def run_generation_job(job_id: int) -> str:
    """The RQ entry point: run the job with the worker's app (its database and allow-list)."""
    from .. import create_app

    app = WORKER_APP or create_app({"CLI": True})
    engine = app.extensions["rlhf_db"]["engine"]
    if WORKER_PID is not None and os.getpid() != WORKER_PID:
        engine.dispose(close=False)  # a forked work-horse must not use its parent's pooled connections
    try:
        with app.app_context():
            session_factory = app.extensions["rlhf_db"]["sessionmaker"]
            result = service.run_generation_job(session_factory, job_id, allowed_hosts=app.config["GENERATION_ALLOWED_HOSTS"])
    finally:
        if WORKER_APP is None:
            engine.dispose()
    return result.summary()


def enqueue_job(session: Any, job: Any, redis_url: str) -> None:
    """Queue a committed job; when Redis cannot be reached the job fails with the reason."""
    from redis import RedisError

    from ..common.clock import utcnow
    from ..models import GenerationJobStatus

    try:
        job.rq_job_id = enqueue_generation(redis_url, job.id)
    except RedisError as exc:
        job.status, job.finished_at = GenerationJobStatus.failed, utcnow()
        job.error = f"could not queue the job: Redis is unreachable ({type(exc).__name__})"
    session.flush()
