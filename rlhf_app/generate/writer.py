"""Storing generation results as they arrive: one writer thread, small batches, no duplicates.

Requests never wait for the database: the event loop hands each outcome to this thread, which
commits whatever has queued up (typically a few rows, within milliseconds). A crash or Ctrl-C
loses only requests still in flight. ``ON CONFLICT DO NOTHING`` on (prompt_id, model_name) means
two runs can never store two completions from one model for one prompt.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..common.clock import utcnow
from ..db import begin_write
from ..models import Completion, CompletionSource, GenerationFailure, GenerationJob

BATCH_SIZE = 256
# Gather for at most this long before committing: one commit (and fsync) per ~20 ms instead of one
# per answer keeps the writer's CPU, which shares the GIL with the requests, small at 1,000 req/s.
COMMIT_INTERVAL_SECONDS = 0.02
# With nothing to store for this long the writer still touches the job's updated_at, so a job whose
# process died (kill -9, a lost machine) shows as stalled rather than running forever.
HEARTBEAT_SECONDS = 10.0
_STOP = object()


@dataclass(frozen=True)
class Outcome:
    """One finished request: a completion to store, or the error it failed with."""

    prompt_id: int
    external_id: str
    model_name: str
    text: str | None = None
    content_hash: str | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    status_code: int | None = None
    attempts: int = 1

    @property
    def is_truncated(self) -> bool:
        return self.generation.get("finish_reason") == "length"


@dataclass
class WriteCounts:
    completed: int = 0
    duplicates: int = 0
    failed: int = 0
    truncated: int = 0
    failures: list[str] = field(default_factory=list)


class ResultWriter(threading.Thread):
    """Batches outcomes into short write transactions; ``close()`` flushes and re-raises any DB error."""

    def __init__(self, session_factory: Callable[[], Session], job_id: int) -> None:
        super().__init__(name=f"generation-writer-{job_id}", daemon=True)
        self._session_factory, self._job_id = session_factory, job_id
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.counts = WriteCounts()
        self.error: BaseException | None = None

    def put(self, outcome: Outcome) -> None:
        if self.error is not None:
            raise RuntimeError(f"results can no longer be stored: {self.error}") from self.error
        self._queue.put(outcome)

    def close(self) -> WriteCounts:
        self._queue.put(_STOP)
        self.join()
        if self.error is not None:
            raise self.error
        return self.counts

    def run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if self.error is None and (batch or not stopping):
                try:
                    self._write(batch)
                except BaseException as exc:  # kept for the event loop, which stops the run
                    self.error = exc

    def _next_batch(self) -> tuple[list[Outcome], bool]:
        try:
            item = self._queue.get(timeout=HEARTBEAT_SECONDS)
        except queue.Empty:
            return [], False  # an empty batch: only the heartbeat is written
        deadline = time.monotonic() + COMMIT_INTERVAL_SECONDS
        batch: list[Outcome] = []
        while item is not _STOP:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                return batch, False
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return batch, False
        return batch, True

    def _write(self, batch: list[Outcome]) -> None:
        done = [o for o in batch if o.error is None]
        failed = [o for o in batch if o.error is not None]
        with self._session_factory() as session:
            begin_write(session)
            inserted = _insert_completions(session, done)
            _insert_failures(session, self._job_id, failed)
            truncated = sum(1 for o in done if o.is_truncated)
            session.execute(sa.update(GenerationJob).where(GenerationJob.id == self._job_id).values(
                completed=GenerationJob.completed + inserted, failed=GenerationJob.failed + len(failed),
                truncated=GenerationJob.truncated + truncated, updated_at=utcnow()))
            session.commit()
        self._count(inserted, len(done) - inserted, failed, truncated)

    def _count(self, inserted: int, duplicates: int, failed: list[Outcome], truncated: int) -> None:
        self.counts.completed += inserted
        self.counts.duplicates += duplicates
        self.counts.failed += len(failed)
        self.counts.truncated += truncated
        self.counts.failures += [f"{o.model_name} on {o.external_id}: {o.error}" for o in failed]


def _insert_ignoring_duplicates(session: Session, table: sa.Table, keys: list[str]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=keys)


def _insert_completions(session: Session, outcomes: list[Outcome]) -> int:
    if not outcomes:
        return 0
    now = utcnow()
    rows = [{"prompt_id": o.prompt_id, "model_name": o.model_name, "text": o.text, "source": CompletionSource.generated,
             "generation": o.generation, "content_hash": o.content_hash, "created_at": now} for o in outcomes]
    table = Completion.__table__
    statement = _insert_ignoring_duplicates(session, table, ["prompt_id", "model_name"]).returning(table.c.id)
    return len(session.execute(statement, rows).all())


def _insert_failures(session: Session, job_id: int, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    now = utcnow()
    rows = [{"job_id": job_id, "prompt_id": o.prompt_id, "model_name": o.model_name, "error": o.error,
             "status_code": o.status_code, "attempts": o.attempts, "created_at": now} for o in outcomes]
    session.execute(_insert_ignoring_duplicates(session, GenerationFailure.__table__, ["job_id", "prompt_id", "model_name"]), rows)
