"""Creating and updating projects from prompt sets; prompts and completions are append-only."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..common import audit
from ..common.clock import utcnow
from ..common.errors import NotFound
from ..models import (
    Completion, CompletionSource, GuidelineVersion, Project, ProjectStatus, Prompt, TaskKind, User,
    Workspace,
)
from .loader import CompletionSpec, LoadError, ProjectSpec, PromptSpec, sha256_json


@dataclass
class LoadResult:
    project: Project
    created: bool = False
    guideline_version_added: bool = False
    prompts_added: int = 0
    prompts_unchanged: int = 0
    completions_added: int = 0
    completions_unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "created" if self.created else "updated"
        return (f"{self.project.slug}: project {verb}; {self.prompts_added} prompts added "
                f"({self.prompts_unchanged} unchanged), {self.completions_added} completions added "
                f"({self.completions_unchanged} unchanged), guideline v{self.project.guideline_version}")


def get_project(session: Session, slug: str) -> Project:
    project = find_project(session, slug)
    if project is None:
        raise NotFound(f"There is no project '{slug}'.")
    return project


def find_project(session: Session, slug: str) -> Project | None:
    return session.scalar(select(Project).where(Project.slug == slug))


def current_guideline(session: Session, project: Project) -> GuidelineVersion:
    return session.scalars(
        select(GuidelineVersion).where(GuidelineVersion.project_id == project.id,
                                       GuidelineVersion.version == project.guideline_version)
    ).one()


def load_project(
    session: Session, spec: ProjectSpec, prompts: list[PromptSpec], completions: list[CompletionSpec], *,
    workspace: Workspace, actor: User | None = None, now: dt.datetime | None = None,
) -> LoadResult:
    """Create or update the project, add new prompts and completions; identical rows are no-ops.

    A prompt or completion that exists with different content is an error: judgements refer to
    them, so they never change once loaded.
    """
    now = now or utcnow()
    project, created = _upsert_project(session, spec, workspace, actor, now)
    result = LoadResult(project=project, created=created)
    result.guideline_version_added = _ensure_guideline(session, project, spec, actor, now)
    prompt_ids = _add_prompts(session, project, prompts, result, now)
    add_completions(session, project, completions, prompt_ids, result, CompletionSource.imported, now=now)
    if result.errors:
        raise LoadError(result.errors)
    session.flush()
    return result


def _upsert_project(
    session: Session, spec: ProjectSpec, workspace: Workspace, actor: User | None, now: dt.datetime,
) -> tuple[Project, bool]:
    project = find_project(session, spec.slug)
    settings = {
        "name": spec.name, "domain": spec.domain, "judgements_per_task": spec.judgements_per_task,
        "review_rate": spec.review_rate, "gold_rate": spec.gold_rate, "lease_minutes": spec.lease_minutes,
        "pay_rules": spec.pay_rules,
        "models": merge_models(project.models if project else [], spec.models),
    }
    if project is None:
        project = Project(slug=spec.slug, workspace=workspace, kind=TaskKind(spec.kind), status=ProjectStatus.active,
                          guideline_version=1, created_at=now, **settings)
        session.add(project)
        session.flush()
        audit.record(session, actor, "project.created", project, after={"slug": spec.slug, **settings}, now=now)
        return project, True
    if project.workspace_id != workspace.id:
        raise LoadError([f"project.toml: the slug '{spec.slug}' belongs to another workspace"])
    if project.kind.value != spec.kind:
        raise LoadError([f"project.toml: 'kind' cannot change from {project.kind.value} to {spec.kind} once loaded"])
    before = {key: getattr(project, key) for key in settings}
    if before != settings:
        for key, value in settings.items():
            setattr(project, key, value)
        audit.record(session, actor, "project.updated", project, before=before, after=settings, now=now)
    return project, False


def merge_models(current: list[dict], from_file: list[dict]) -> list[dict]:
    """project.toml's models replace same-named entries; models added with the CLI are kept."""
    by_name = {m["name"]: m for m in from_file}
    kept = [by_name.get(m.get("name"), m) for m in current]
    known = {m.get("name") for m in current}
    return kept + [m for m in from_file if m["name"] not in known]


def _ensure_guideline(session: Session, project: Project, spec: ProjectSpec, actor: User | None, now: dt.datetime) -> bool:
    """Add a new guideline version when the instructions or rubric changed."""
    content_hash = sha256_json({"instructions": spec.instructions, "rubric": spec.rubric})
    latest = session.scalar(
        select(GuidelineVersion).where(GuidelineVersion.project_id == project.id)
        .order_by(GuidelineVersion.version.desc()).limit(1)
    )
    if latest is not None and latest.content_hash == content_hash:
        return False
    version = 1 if latest is None else latest.version + 1
    guideline = GuidelineVersion(project_id=project.id, version=version, instructions=spec.instructions,
                                 rubric=spec.rubric, content_hash=content_hash, created_at=now)
    session.add(guideline)
    project.guideline_version = version
    session.flush()
    audit.record(session, actor, "guideline.versioned", project, after={"version": version}, now=now)
    return True


def _add_prompts(session: Session, project: Project, prompts: list[PromptSpec], result: LoadResult, now: dt.datetime) -> dict[str, int]:
    existing = {p.external_id: p for p in session.scalars(select(Prompt).where(Prompt.project_id == project.id))}
    for spec in prompts:
        current = existing.get(spec.external_id)
        if current is None:
            prompt = Prompt(project_id=project.id, external_id=spec.external_id, messages=spec.messages,
                            tags=spec.tags, meta=spec.meta, gold=spec.gold, content_hash=spec.content_hash, created_at=now)
            session.add(prompt)
            existing[spec.external_id] = prompt
            result.prompts_added += 1
        elif current.content_hash != spec.content_hash:
            result.errors.append(f"prompts.jsonl: '{spec.external_id}' was loaded before with different messages; "
                                 "loaded prompts never change (give the new version a new external_id)")
        else:
            current.tags, current.meta, current.gold = spec.tags, spec.meta, spec.gold
            result.prompts_unchanged += 1
    session.flush()
    return {external_id: prompt.id for external_id, prompt in existing.items()}


def add_completions(
    session: Session, project: Project, completions: Iterable[CompletionSpec], prompt_ids: dict[str, int] | None,
    result: LoadResult, source: CompletionSource, *, now: dt.datetime | None = None,
) -> None:
    """Insert completions for prompts of ``project``; identical ones are skipped, changed ones are errors."""
    now = now or utcnow()
    if prompt_ids is None:
        prompt_ids = dict(session.execute(select(Prompt.external_id, Prompt.id).where(Prompt.project_id == project.id)).all())
    existing = {
        (row.prompt_id, row.model_name): row.content_hash
        for row in session.execute(
            select(Completion.prompt_id, Completion.model_name, Completion.content_hash)
            .join(Prompt, Prompt.id == Completion.prompt_id).where(Prompt.project_id == project.id)
        )
    }
    for spec in completions:
        prompt_id = prompt_ids.get(spec.prompt_id)
        if prompt_id is None:
            result.errors.append(f"completions: prompt_id '{spec.prompt_id}' is not a prompt of {project.slug}")
            continue
        known_hash = existing.get((prompt_id, spec.model))
        if known_hash is None:
            session.add(Completion(prompt_id=prompt_id, model_name=spec.model, text=spec.text, source=source,
                                   generation=spec.generation, content_hash=spec.content_hash, created_at=now))
            existing[(prompt_id, spec.model)] = spec.content_hash
            result.completions_added += 1
        elif known_hash != spec.content_hash:
            result.errors.append(f"completions: '{spec.model}' already has a different completion for '{spec.prompt_id}'")
        else:
            result.completions_unchanged += 1
    session.flush()
