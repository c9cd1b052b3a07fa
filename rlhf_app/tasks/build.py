"""Turning completions into tasks: pairs or K-way ranking sets, idempotent, no identical texts."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..common import audit
from ..common.clock import utcnow
from ..common.errors import ValidationError
from ..models import Completion, Project, Prompt, Task, TaskItem, TaskKind, User

MAX_RANKING = 9


@dataclass(frozen=True)
class Strategy:
    """``all-pairs``, ``vs-baseline:MODEL`` or ``random-k:K`` (K-way sets; K=2 gives pairs)."""

    name: str
    baseline: str | None = None
    k: int | None = None


@dataclass
class BuildResult:
    created: int = 0
    existing: int = 0
    skipped_prompts: int = 0
    identical_dropped: int = 0

    def summary(self, slug: str) -> str:
        return (f"{slug}: {self.created} tasks created, {self.existing} already existed, "
                f"{self.identical_dropped} identical completions ignored, {self.skipped_prompts} prompts without enough completions")


def parse_strategy(text: str) -> Strategy:
    """Parse the ``--strategy`` value; raise ValidationError naming what is allowed."""
    name, _, arg = text.partition(":")
    if name == "all-pairs" and not arg:
        return Strategy("all-pairs")
    if name == "all" and not arg:
        return Strategy("all")
    if name == "vs-baseline" and arg:
        return Strategy("vs-baseline", baseline=arg)
    if name == "random-k" and arg.isdigit() and 2 <= int(arg) <= MAX_RANKING:
        return Strategy("random-k", k=int(arg))
    raise ValidationError({"strategy": f"'{text}' is not a strategy; use all, all-pairs, vs-baseline:MODEL or random-k:K with K from 2 to {MAX_RANKING}"})


def default_strategy(project: Project) -> Strategy:
    return Strategy("all-pairs") if project.kind is TaskKind.pairwise else Strategy("all")


def build_tasks(
    session: Session, project: Project, strategy: Strategy | None = None, *,
    actor: User | None = None, now: dt.datetime | None = None,
) -> BuildResult:
    """Create the tasks the strategy asks for that do not exist yet."""
    strategy = strategy or default_strategy(project)
    _check_strategy_fits(project, strategy)
    _check_baseline_exists(session, project, strategy)
    now = now or utcnow()
    known = set(session.scalars(select(Task.signature).where(Task.project_id == project.id)))
    result = BuildResult()
    prompts = session.scalars(
        select(Prompt).where(Prompt.project_id == project.id).order_by(Prompt.id).options(selectinload(Prompt.completions))
    )
    for prompt in prompts:
        completions = _distinct_completions(prompt.completions, result, prefer=strategy.baseline)
        groups = list(_groups(prompt, completions, strategy))
        if not groups:
            result.skipped_prompts += 1
        for group in groups:
            signature = task_signature(group)
            if signature in known:
                result.existing += 1
                continue
            session.add(_new_task(project, prompt, group, signature, now))
            known.add(signature)
            result.created += 1
    session.flush()
    if result.created:
        audit.record(session, actor, "tasks.built", project, after={"created": result.created, "strategy": strategy.name}, now=now)
    return result


def _check_strategy_fits(project: Project, strategy: Strategy) -> None:
    pairwise_only = strategy.name in ("all-pairs", "vs-baseline") or (strategy.name == "random-k" and strategy.k == 2)
    if project.kind is TaskKind.pairwise and not pairwise_only:
        raise ValidationError({"strategy": f"{project.slug} is pairwise: use all-pairs, vs-baseline:MODEL or random-k:2"})
    if project.kind is TaskKind.ranking and pairwise_only:
        raise ValidationError({"strategy": f"{project.slug} ranks 3-9 answers: use all or random-k:K with K >= 3"})


def _check_baseline_exists(session: Session, project: Project, strategy: Strategy) -> None:
    if strategy.baseline is None:
        return
    found = session.scalar(select(Completion.id).join(Prompt, Prompt.id == Completion.prompt_id)
                           .where(Prompt.project_id == project.id, Completion.model_name == strategy.baseline).limit(1))
    if found is None:
        raise ValidationError({"strategy": f"{project.slug} has no completions from '{strategy.baseline}' to use as the baseline"})


def _distinct_completions(completions: list[Completion], result: BuildResult, *, prefer: str | None = None) -> list[Completion]:
    """One completion per distinct text; when texts repeat, the baseline (``prefer``) is the one kept."""
    seen: set[str] = set()
    distinct = []
    for completion in sorted(completions, key=lambda c: (c.model_name != prefer, c.id)):
        if completion.content_hash in seen:
            result.identical_dropped += 1
            continue
        seen.add(completion.content_hash)
        distinct.append(completion)
    return distinct


def _groups(prompt: Prompt, completions: list[Completion], strategy: Strategy) -> Iterator[list[Completion]]:
    if strategy.name == "all-pairs":
        yield from (list(pair) for pair in itertools.combinations(completions, 2))
    elif strategy.name == "vs-baseline":
        baseline = next((c for c in completions if c.model_name == strategy.baseline), None)
        if baseline is not None:
            yield from ([baseline, other] for other in completions if other is not baseline)
    elif strategy.name == "all":
        if 3 <= len(completions) <= MAX_RANKING:
            yield completions
    elif strategy.name == "random-k" and len(completions) >= (strategy.k or 0):
        rng = random.Random(f"{prompt.project_id}:{prompt.external_id}:{strategy.k}")
        yield sorted(rng.sample(completions, strategy.k or 0), key=lambda c: c.id)


def task_signature(completions: list[Completion]) -> str:
    ids = ",".join(str(c.id) for c in sorted(completions, key=lambda c: c.id))
    return hashlib.sha256(ids.encode()).hexdigest()


def _new_task(project: Project, prompt: Prompt, group: list[Completion], signature: str, now: dt.datetime) -> Task:
    task = Task(project_id=project.id, prompt_id=prompt.id, signature=signature, created_at=now)
    task.items = [TaskItem(position=i, completion_id=c.id) for i, c in enumerate(group)]
    if prompt.gold and len(group) == 2:
        models = [c.model_name for c in group]
        if prompt.gold["better_model"] in models:
            sign = -1 if models.index(prompt.gold["better_model"]) == 0 else 1
            task.is_gold = True
            task.gold_preference = sign * int(prompt.gold["strength"])
            task.gold_explanation = prompt.gold.get("explanation", "")
    return task
