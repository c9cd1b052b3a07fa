"""Generating completions: what is missing, the run itself (bounded concurrency, resumable), jobs.

``generate_completions`` asks each chosen model for every prompt of the project that has no
completion from it yet, at most ``concurrency`` requests in flight (and at most each model's
``max_in_flight``), and stores each answer as soon as it arrives (writer.py). Running it again
does only what is still missing. Every run is a GenerationJob; each request that failed for good
is a GenerationFailure with its error, and the next run tries it again.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..common import audit
from ..common.clock import utcnow
from ..common.errors import DomainError, NotFound, ValidationError
from ..config import Config
from ..db import begin_write
from ..models import Completion, GenerationFailure, GenerationJob, GenerationJobStatus, Project, Prompt, User
from ..projects.loader import sha256_text
from .aio import run_cancellable
from .client import GenerationError, ModelClient
from .registry import AllowList, ModelSpec, find_model_specs, parse_allowed_hosts
from .writer import Outcome, ResultWriter, WriteCounts

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 64
ClientFactory = Callable[[ModelSpec, str, AllowList], Any]
Work = dict[str, list[tuple[int, str, list[dict[str, str]]]]]  # model name -> (prompt id, external id, messages)


@dataclass(frozen=True)
class ProgressUpdate:
    total: int
    completed: int
    failed: int

    @property
    def done(self) -> int:
        return self.completed + self.failed


@dataclass
class GenerationResult:
    project_slug: str
    job_id: int
    total: int
    counts: WriteCounts = field(default_factory=WriteCounts)
    not_attempted: int = 0
    stopped_models: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    elapsed_seconds: float = 0.0

    def summary(self) -> str:
        """The one-line summary the CLI prints last."""
        c, rate = self.counts, self.counts.completed / self.elapsed_seconds if self.elapsed_seconds else 0.0
        line = (f"{self.project_slug}: {c.completed} of {self.total} completions generated "
                f"({c.truncated} cut at max_tokens), {c.failed} failed, {self.not_attempted} not attempted")
        line += f", {c.duplicates} already stored" if c.duplicates else ""
        line += f" in {self.elapsed_seconds:.1f} s ({rate:.1f}/s); job {self.job_id}"
        return line + (" — interrupted: run the same command again to do the rest" if self.interrupted else "")


@dataclass(frozen=True)
class ModelPlan:
    name: str
    endpoint: str
    model: str
    params: dict[str, Any]
    requests: int
    estimated_prompt_tokens: int
    max_completion_tokens: int | None
    sample_body: dict[str, Any] | None
    problems: list[str]


# --- what is missing -----------------------------------------------------------------------------

def missing_work(session: Session, project_id: int, specs: list[ModelSpec]) -> Work:
    """For each model, the prompts of the project without a completion from it, in id order."""
    prompts = session.execute(
        sa.select(Prompt.id, Prompt.external_id, Prompt.messages).where(Prompt.project_id == project_id).order_by(Prompt.id)
    ).all()
    done = {tuple(row) for row in session.execute(
        sa.select(Completion.prompt_id, Completion.model_name).join(Prompt, Prompt.id == Completion.prompt_id)
        .where(Prompt.project_id == project_id, Completion.model_name.in_([s.name for s in specs]))
    )}
    return {s.name: [(p.id, p.external_id, p.messages) for p in prompts if (p.id, s.name) not in done] for s in specs}


def request_messages(spec: ModelSpec, messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The prompt's messages, after the model's system prompt unless the prompt brings its own."""
    if spec.system_prompt and messages[0]["role"] != "system":
        return [{"role": "system", "content": spec.system_prompt}, *messages]
    return messages


# --- dry run -------------------------------------------------------------------------------------

def plan_generation(work: Work, specs: list[ModelSpec], allow: AllowList, env: Mapping[str, str]) -> list[ModelPlan]:
    """What a run would send; prompt tokens are estimated as characters / 4 (no tokenizer)."""
    plans = []
    for spec in specs:
        items = work[spec.name]
        chars = sum(len(m["content"]) for _, _, messages in items for m in request_messages(spec, messages))
        sample = ({"model": spec.model, "messages": request_messages(spec, items[0][2]), **spec.request_params()}
                  if items else None)
        plans.append(ModelPlan(spec.name, spec.base_url, spec.model, spec.request_params(), len(items), chars // 4,
                               spec.max_tokens * len(items) if spec.max_tokens else None, sample, preflight_problems(spec, allow, env)))
    return plans


def preflight_problems(spec: ModelSpec, allow: AllowList, env: Mapping[str, str]) -> list[str]:
    """Why a run of this model would fail before its first request (endpoint not allowed, key missing)."""
    problems = []
    url_problem = allow.url_problem(spec.base_url)
    if url_problem:
        problems.append(f"{spec.name}: {url_problem}")
    if spec.api_key_env and not env.get(spec.api_key_env):
        problems.append(f"{spec.name}: the environment variable {spec.api_key_env} (its API key) is not set")
    return problems


# --- jobs ----------------------------------------------------------------------------------------

def create_generation_job(
    session: Session, project: Project, model_names: list[str], *, concurrency: int = DEFAULT_CONCURRENCY,
    actor: User | None = None, origin: str = "cli", allowed_hosts: str | None = None,
) -> GenerationJob:
    """A queued job for these models, after checking the names, concurrency and the allow-list."""
    specs = find_model_specs(project.models, model_names)
    _check_concurrency(concurrency)
    allow = _allow_list(allowed_hosts)
    problems = [p for s in specs if (p := allow.url_problem(s.base_url))]
    if problems:
        raise ValidationError({"models": "; ".join(problems)}, message="; ".join(problems))
    job = _add_job(session, project, model_names, concurrency, actor.id if actor else None, origin)
    audit.record(session, actor, "generation.queued", job, after={"project": project.slug, "models": model_names})
    return job


def get_job(session: Session, job_id: int) -> GenerationJob:
    job = session.get(GenerationJob, job_id)
    if job is None:
        raise NotFound(f"There is no generation job {job_id}.")
    return job


def find_project_job(session: Session, project: Project, job_id: int) -> GenerationJob | None:
    """The job when it belongs to ``project``; None otherwise."""
    job = session.get(GenerationJob, job_id)
    return job if job is not None and job.project_id == project.id else None


def list_jobs(session: Session, project: Project, limit: int = 10) -> list[GenerationJob]:
    return list(session.scalars(sa.select(GenerationJob).where(GenerationJob.project_id == project.id)
                                .order_by(GenerationJob.id.desc()).limit(limit)))


def set_job_state(session_factory: Callable[[], Session], job_id: int, status: GenerationJobStatus, **values: Any) -> None:
    """Move a job to ``status`` in its own short transaction."""
    now = utcnow()
    if status is GenerationJobStatus.running:
        values.setdefault("started_at", now)
    elif status is not GenerationJobStatus.queued:
        values.setdefault("finished_at", now)
    with session_factory() as session:
        begin_write(session)
        session.execute(sa.update(GenerationJob).where(GenerationJob.id == job_id).values(status=status, updated_at=now, **values))
        session.commit()


def first_failures(session: Session, job: GenerationJob, limit: int) -> list[GenerationFailure]:
    """The job's first ``limit`` failures with their prompts (a job can have thousands)."""
    return list(session.scalars(sa.select(GenerationFailure).where(GenerationFailure.job_id == job.id)
                                .options(joinedload(GenerationFailure.prompt)).order_by(GenerationFailure.id).limit(limit)))


def stalled_notice(job: GenerationJob) -> str | None:
    """What to tell a lab about a running job whose process stopped sending its heartbeat."""
    if not job.is_stalled(utcnow()):
        return None
    return (f"No sign of life from this run since {job.updated_at:%Y-%m-%d %H:%M} UTC: the process running it has "
            "probably stopped. Everything that arrived is stored; start generation again to do the rest.")


def fail_stalled_jobs(session: Session, project_id: int) -> None:
    """Mark the project's stalled jobs failed (called when a new job starts, which does their rest)."""
    now = utcnow()
    stalled = [j for j in session.scalars(sa.select(GenerationJob).where(
        GenerationJob.project_id == project_id, GenerationJob.status == GenerationJobStatus.running)) if j.is_stalled(now)]
    for job in stalled:
        job.status, job.finished_at = GenerationJobStatus.failed, now
        job.error = f"the process running this job stopped without finishing (last heard from at {job.updated_at:%Y-%m-%d %H:%M} UTC)"
    session.flush()


def describe_job(session: Session, job: GenerationJob, *, failures: int = 50) -> dict[str, Any]:
    """The job as plain data for the API and the progress page."""
    return {
        "id": job.id, "project_id": job.project_id, "status": job.status.value, "origin": job.origin,
        "models": job.model_names, "concurrency": job.concurrency, "total": job.total, "completed": job.completed,
        "failed": job.failed, "truncated": job.truncated, "error": job.error, "is_done": job.is_done,
        "stalled": stalled_notice(job),
        "created_at": _iso(job.created_at), "started_at": _iso(job.started_at), "updated_at": _iso(job.updated_at),
        "finished_at": _iso(job.finished_at),
        "failures": [{"prompt": f.prompt.external_id, "model": f.model_name, "error": f.error, "status_code": f.status_code,
                      "attempts": f.attempts} for f in first_failures(session, job, failures)],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- the run -------------------------------------------------------------------------------------

def generate_completions(
    session_factory: Callable[[], Session], project: Project, model_names: list[str], *,
    concurrency: int = DEFAULT_CONCURRENCY, dry_run: bool = False, progress: Callable[[ProgressUpdate], None] | None = None,
    client_factory: ClientFactory | None = None, allowed_hosts: str | None = None, env: Mapping[str, str] | None = None,
    job_id: int | None = None, actor_id: int | None = None,
) -> GenerationResult | list[ModelPlan]:
    """Generate every missing completion of ``model_names`` (or, with ``dry_run``, say what would be sent)."""
    specs = find_model_specs(project.models, model_names)
    _check_concurrency(concurrency)
    allow, env = _allow_list(allowed_hosts), os.environ if env is None else env
    with session_factory() as session:
        work = missing_work(session, project.id, specs)
    if dry_run:
        return plan_generation(work, specs, allow, env)
    job_id = job_id or _new_job(session_factory, project, model_names, concurrency, actor_id)
    problems = [p for s in specs for p in preflight_problems(s, allow, env)]
    if problems:
        set_job_state(session_factory, job_id, GenerationJobStatus.failed, error="; ".join(problems))
        raise ValidationError({"models": "; ".join(problems)}, message="; ".join(problems))
    total = sum(len(items) for items in work.values())
    set_job_state(session_factory, job_id, GenerationJobStatus.running, total=total)
    clients = {s.name: (client_factory or _default_client)(s, env.get(s.api_key_env or "", "") if s.api_key_env else "", allow)
               for s in specs}
    return _run_job(session_factory, project.slug, job_id, work, specs, clients, concurrency, total, progress)


def _run_job(session_factory: Callable[[], Session], slug: str, job_id: int, work: Work, specs: list[ModelSpec],
             clients: dict[str, Any], concurrency: int, total: int, progress: Callable[[ProgressUpdate], None] | None) -> GenerationResult:
    result = GenerationResult(slug, job_id, total)
    writer = ResultWriter(session_factory, job_id)
    writer.start()
    started = time.perf_counter()
    try:
        runs = run_cancellable(lambda: _generate(work, specs, clients, writer, concurrency, total, progress, result))
    except BaseException as exc:
        _close_writer_quietly(writer)
        set_job_state(session_factory, job_id, GenerationJobStatus.failed, error=f"the run stopped: {type(exc).__name__}: {exc}")
        raise
    result.counts = writer.close()
    result.elapsed_seconds = time.perf_counter() - started
    result.not_attempted = sum(len(run.queue) for run in runs)
    result.stopped_models = {run.spec.name: run.stopped for run in runs if run.stopped}
    _finish_job(session_factory, result)
    return result


def _finish_job(session_factory: Callable[[], Session], result: GenerationResult) -> None:
    status = GenerationJobStatus.cancelled if result.interrupted else GenerationJobStatus.finished
    error = "; ".join(f"{name} stopped: {why}" for name, why in result.stopped_models.items()) or None
    if result.interrupted:
        error = (error + "; " if error else "") + "interrupted before the end; run it again to do the rest"
    set_job_state(session_factory, result.job_id, status, error=error)


def _close_writer_quietly(writer: ResultWriter) -> None:
    try:
        writer.close()
    except BaseException:  # the original error is the one worth reporting
        pass


@dataclass
class _ModelRun:
    spec: ModelSpec
    client: Any
    queue: deque[tuple[int, str, list[dict[str, str]]]]
    stopped: str | None = None


async def _generate(work: Work, specs: list[ModelSpec], clients: dict[str, Any], writer: ResultWriter, concurrency: int,
                    total: int, progress: Callable[[ProgressUpdate], None] | None, result: GenerationResult) -> list[_ModelRun]:
    runs = [_ModelRun(s, clients[s.name], deque(work[s.name])) for s in specs]
    limit = asyncio.Semaphore(concurrency)
    tally = _Tally(total, progress)
    workers = [asyncio.create_task(_worker(run, limit, writer, tally))
               for run in runs for _ in range(min(run.spec.max_in_flight, concurrency, len(run.queue)))]
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:  # Ctrl-C (aio.py cancels us): what arrived is still stored
        result.interrupted = True
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for run in runs:
            await run.client.aclose()
    return runs


class _Tally:
    def __init__(self, total: int, progress: Callable[[ProgressUpdate], None] | None) -> None:
        self.total, self.completed, self.failed, self._progress = total, 0, 0, progress
        self._report()

    def add(self, outcome: Outcome) -> None:
        if outcome.error is None:
            self.completed += 1
        else:
            self.failed += 1
        self._report()

    def _report(self) -> None:
        if self._progress is not None:
            self._progress(ProgressUpdate(self.total, self.completed, self.failed))


async def _worker(run: _ModelRun, limit: asyncio.Semaphore, writer: ResultWriter, tally: _Tally) -> None:
    while run.queue and run.stopped is None:
        prompt_id, external_id, messages = run.queue.popleft()
        async with limit:
            outcome = await _request(run, prompt_id, external_id, messages)
        writer.put(outcome)
        tally.add(outcome)


async def _request(run: _ModelRun, prompt_id: int, external_id: str, messages: list[dict[str, str]]) -> Outcome:
    spec = run.spec
    try:
        reply = await run.client.complete(request_messages(spec, messages))
    except GenerationError as exc:
        if exc.fatal and run.stopped is None:
            run.stopped = exc.message
        return Outcome(prompt_id, external_id, spec.name, error=exc.message, status_code=exc.status_code, attempts=exc.attempts)
    generation = {
        "endpoint": spec.base_url, "model": spec.model, "params": spec.request_params(),
        "system_prompt": bool(spec.system_prompt and messages[0]["role"] != "system"),
        "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens, "latency_ms": reply.latency_ms,
        "finish_reason": reply.finish_reason, "truncated": reply.finish_reason == "length", "attempts": reply.attempts,
        "response_model": reply.response_model, "generated_at": utcnow().isoformat(),
    }
    return Outcome(prompt_id, external_id, spec.name, text=reply.text, content_hash=sha256_text(reply.text), generation=generation)


# --- small helpers -------------------------------------------------------------------------------

def _default_client(spec: ModelSpec, api_key: str, allow: AllowList) -> ModelClient:
    return ModelClient(spec, api_key=api_key, allow=allow)


def _allow_list(setting: str | None) -> AllowList:
    try:
        return parse_allowed_hosts(Config.GENERATION_ALLOWED_HOSTS if setting is None else setting)
    except ValueError as exc:
        raise ValidationError({"GENERATION_ALLOWED_HOSTS": str(exc)}, message=str(exc)) from None


def _check_concurrency(concurrency: int) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValidationError({"concurrency": f"must be from 1 to {MAX_CONCURRENCY}, not {concurrency}"})


def _new_job(session_factory: Callable[[], Session], project: Project, model_names: list[str], concurrency: int,
             actor_id: int | None) -> int:
    with session_factory() as session:
        begin_write(session)
        job = _add_job(session, project, model_names, concurrency, actor_id, "cli")
        session.commit()
        return job.id


def _add_job(session: Session, project: Project, model_names: list[str], concurrency: int, created_by_id: int | None,
             origin: str) -> GenerationJob:
    """A new queued job; the project's stalled jobs are closed first (this one does their rest)."""
    fail_stalled_jobs(session, project.id)
    job = GenerationJob(project_id=project.id, created_by_id=created_by_id, origin=origin, model_names=list(model_names),
                        concurrency=concurrency, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def run_generation_job(session_factory: Callable[[], Session], job_id: int, *, allowed_hosts: str | None = None,
                       env: Mapping[str, str] | None = None, client_factory: ClientFactory | None = None) -> GenerationResult:
    """Run a queued job (what the RQ worker calls); the job row records the outcome."""
    with session_factory() as session:
        job = get_job(session, job_id)
        project = session.get(Project, job.project_id)
        model_names, concurrency = list(job.model_names), job.concurrency
    try:
        result = generate_completions(session_factory, project, model_names, concurrency=concurrency, job_id=job_id,
                                      allowed_hosts=allowed_hosts, env=env, client_factory=client_factory)
    except DomainError as exc:  # e.g. a model removed from the registry since the job was queued
        set_job_state(session_factory, job_id, GenerationJobStatus.failed, error=exc.message if not exc.details.get("fields")
                      else "; ".join(map(str, exc.details["fields"].values())))
        raise
    assert isinstance(result, GenerationResult)
    return result


# --- the registry in the database ----------------------------------------------------------------

def add_model(session: Session, project: Project, spec: dict[str, Any], *, replace: bool = False,
              actor: User | None = None) -> ModelSpec:
    """Register (or with ``replace`` update) a model endpoint on the project."""
    from .registry import parse_model_spec, with_model

    before = list(project.models or [])
    project.models = with_model(before, spec, replace=replace)
    session.flush()
    audit.record(session, actor, "project.model_registered", project, after={"model": spec})
    return parse_model_spec(spec)


def remove_model(session: Session, project: Project, name: str, *, actor: User | None = None) -> None:
    """Remove a model from the project's registry; its completions stay."""
    if name not in [m.get("name") for m in project.models or []]:
        raise NotFound(f"{project.slug} has no model named '{name}'.")
    project.models = [m for m in project.models if m.get("name") != name]
    session.flush()
    audit.record(session, actor, "project.model_removed", project, after={"model": name})
