"""``rlhf generate``, ``rlhf completions import`` and ``rlhf models``: completions from endpoints or files."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from ..common.errors import DomainError
from ..db import begin_write, get_session
from ..generate import imports, service
from ..generate.registry import parse_allowed_hosts, parse_model_spec
from ..projects.service import get_project
from . import fail

MAX_LISTED_FAILURES = 20


def _message(exc: DomainError) -> str:
    fields = exc.details.get("fields", {})
    return "\n".join(str(v) for v in fields.values()) or exc.message


def _load_project(slug: str):
    session = get_session()
    try:
        project = get_project(session, slug)
    except DomainError as exc:
        fail(_message(exc))
    session.commit()  # end the read transaction (keeping the loaded project); the run uses its own short ones
    return project


# --- rlhf generate -------------------------------------------------------------------------------

@click.command("generate")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--model", "models", multiple=True, required=True, help="A registered model name; repeat for several.")
@click.option("--concurrency", type=click.IntRange(1, service.MAX_CONCURRENCY), default=service.DEFAULT_CONCURRENCY,
              show_default=True, help="Requests in flight across all models.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent and the estimated tokens; send nothing.")
@with_appcontext
def generate(slug: str, models: tuple[str, ...], concurrency: int, dry_run: bool) -> None:
    """Ask each model for every prompt of the project it has not answered yet (resumable)."""
    project = _load_project(slug)
    options: dict[str, Any] = {"concurrency": concurrency, "allowed_hosts": current_app.config["GENERATION_ALLOWED_HOSTS"]}
    factory = current_app.extensions["rlhf_db"]["sessionmaker"]
    try:
        if dry_run:
            _print_plan(slug, service.generate_completions(factory, project, list(models), dry_run=True, **options))
            return
        with tqdm(total=0, unit="req", desc=slug, dynamic_ncols=True) as bar:
            result = service.generate_completions(factory, project, list(models), progress=_Progress(bar), **options)
    except DomainError as exc:
        fail(_message(exc))
    _print_result(result)


class _Progress:
    """Feeds tqdm (rate and ETA) from the service's cumulative counts."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar

    def __call__(self, update: service.ProgressUpdate) -> None:
        if self._bar.total != update.total:
            self._bar.reset(total=update.total)
        self._bar.update(update.done - self._bar.n)
        self._bar.set_postfix(failed=update.failed, refresh=False)


def _print_result(result: service.GenerationResult) -> None:
    for name, why in result.stopped_models.items():
        click.echo(f"{name} stopped early: {why}")
    failures = result.counts.failures
    for line in failures[:MAX_LISTED_FAILURES]:
        click.echo(f"failed: {line}")
    if len(failures) > MAX_LISTED_FAILURES:
        click.echo(f"... and {len(failures) - MAX_LISTED_FAILURES} more failures (see job {result.job_id})")
    click.echo(result.summary())
    if result.interrupted:
        sys.exit(130)


def _print_plan(slug: str, plans: list[service.ModelPlan]) -> None:
    click.echo(f"Dry run for {slug}: nothing is sent. Prompt tokens are estimated as characters / 4.")
    for plan in plans:
        limit = f"at most {plan.max_completion_tokens:,} completion tokens" if plan.max_completion_tokens else "no max_tokens set"
        click.echo(f"{plan.name} -> {plan.endpoint} (model {plan.model}, params {orjson.dumps(plan.params).decode()})")
        click.echo(f"  {plan.requests} requests, about {plan.estimated_prompt_tokens:,} prompt tokens, {limit}")
        if plan.sample_body is not None:
            click.echo(f"  first request body: {orjson.dumps(plan.sample_body).decode()[:2000]}")
        for problem in plan.problems:
            click.echo(f"  problem: {problem}")
    requests, tokens = sum(p.requests for p in plans), sum(p.estimated_prompt_tokens for p in plans)
    click.echo(f"{slug}: dry run, would send {requests} requests to {len(plans)} model(s), about {tokens:,} prompt tokens.")


# --- rlhf completions import ---------------------------------------------------------------------

@click.group("completions")
def completions_group() -> None:
    """Import completions produced elsewhere."""


@completions_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--project", "slug", required=True, help="Project slug.")
@with_appcontext
def import_file(file: Path, slug: str) -> None:
    """Import FILE.jsonl ({"prompt_id", "model", "text"} per line); any problem imports nothing."""
    session = get_session()
    begin_write(session)
    try:
        project = get_project(session, slug)
        result = imports.import_completions(session, project, imports.read_completions_file(file))
    except DomainError as exc:
        session.rollback()
        fail(f"{exc.message}\n{_message(exc)}")
    session.commit()
    click.echo(f"{slug}: {result.completions_added} completions imported ({result.completions_unchanged} unchanged) from {file}.")


# --- rlhf models ---------------------------------------------------------------------------------

@click.group("models")
def models_group() -> None:
    """The model endpoints a project generates from (no keys: only their variables' names)."""


@models_group.command("add")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--name", required=True, help="Name used in completions and tasks, e.g. gpt-4o-mini.")
@click.option("--base-url", required=True, help="OpenAI-compatible base URL, e.g. https://api.openai.com/v1.")
@click.option("--model", "model_id", required=True, help="Model id sent to the endpoint.")
@click.option("--api-key-env", default=None, help="NAME of the environment variable holding the key.")
@click.option("--system-prompt", default=None)
@click.option("--max-tokens", type=int, default=None)
@click.option("--max-in-flight", type=int, default=None, help="Requests in flight to this endpoint (1-64).")
@click.option("--timeout-seconds", type=float, default=None)
@click.option("--max-retries", type=int, default=None)
@click.option("--param", "params", multiple=True, help="Sampling parameter KEY=VALUE, e.g. temperature=0.7; repeatable.")
@click.option("--replace", is_flag=True, help="Replace a model of the same name.")
@with_appcontext
def add_model(slug: str, name: str, base_url: str, model_id: str, params: tuple[str, ...], replace: bool, **options: Any) -> None:
    """Register a model endpoint on a project."""
    spec = {"name": name, "base_url": base_url, "model": model_id, "params": _params(params),
            **{k: v for k, v in options.items() if v is not None}}
    session = get_session()
    begin_write(session)
    try:
        model = service.add_model(session, get_project(session, slug), spec, replace=replace)
    except DomainError as exc:
        session.rollback()
        fail(_message(exc))
    session.commit()
    problem = parse_allowed_hosts(current_app.config["GENERATION_ALLOWED_HOSTS"]).url_problem(model.base_url)
    if problem:
        click.echo(f"warning: {problem}")
    click.echo(f"{slug}: model {model.name} registered ({model.base_url}, model {model.model}).")


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            fail(f"--param {pair!r}: write KEY=VALUE, e.g. temperature=0.7")
        try:
            params[key.strip()] = orjson.loads(value)
        except orjson.JSONDecodeError:
            params[key.strip()] = value
    return params


@models_group.command("list")
@click.option("--project", "slug", required=True, help="Project slug.")
@with_appcontext
def list_models(slug: str) -> None:
    """List a project's model endpoints and whether the allow-list lets them run."""
    project = _load_project(slug)
    allow = parse_allowed_hosts(current_app.config["GENERATION_ALLOWED_HOSTS"])
    for entry in project.models or []:
        spec = parse_model_spec(entry)
        state = allow.url_problem(spec.base_url) or "allowed"
        click.echo(f"{spec.name:<24} {spec.base_url:<40} {spec.model:<28} key: {spec.api_key_env or '-'}  {state}")
    click.echo(f"{slug}: {len(project.models or [])} models.")


@models_group.command("remove")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--name", required=True)
@with_appcontext
def remove_model(slug: str, name: str) -> None:
    """Remove a model from a project's registry (its completions stay)."""
    session = get_session()
    begin_write(session)
    try:
        service.remove_model(session, get_project(session, slug), name)
    except DomainError as exc:
        session.rollback()
        fail(_message(exc))
    session.commit()
    click.echo(f"{slug}: model {name} removed.")


COMMANDS = [generate, completions_group, models_group]
