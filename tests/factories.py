"""Plain factory functions with sensible defaults; they flush, never commit."""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from rlhf_app.auth.service import hash_password
from rlhf_app.models import (
    Assignment, Completion, CompletionSource, GuidelineVersion, Judgement, JudgementStatus, Project,
    ProjectStatus, Prompt, Role, Task, TaskItem, TaskKind, User, Workspace,
)
from rlhf_app.projects.loader import sha256_json, sha256_text

PASSWORD = "correct horse battery staple"
_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose; hash once per test session
_seq = itertools.count(1)
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)

RUBRIC = {"criteria": [
    {"key": "accuracy", "title": "Accuracy", "description": "Facts and numbers", "scale_min": 1, "scale_max": 5,
     "required": True, "levels": ["wrong", "mostly wrong", "mixed", "mostly right", "right"]},
    {"key": "clarity", "title": "Clarity", "description": "Easy to act on", "scale_min": 1, "scale_max": 3,
     "required": False, "levels": ["unclear", "fair", "clear"]},
]}


def make_workspace(session: Session, **overrides: Any) -> Workspace:
    n = next(_seq)
    workspace = Workspace(**{"slug": f"lab-{n}", "name": f"Lab {n}", **overrides})
    session.add(workspace)
    session.flush()
    return workspace


def make_user(session: Session, role: Role = Role.expert, **overrides: Any) -> User:
    n = next(_seq)
    fields: dict[str, Any] = {
        "email": f"{role.value}{n}@example.test", "name": f"{role.value.title()} {n}", "role": role,
        "domains": ["finance", "strategy"] if role in (Role.expert, Role.reviewer) else [],
        "hourly_rate_cents": 20000 if role is Role.expert else 0, "password_hash": _HASH,
    }
    if role is Role.lab and "workspace" not in overrides and "workspace_id" not in overrides:
        fields["workspace"] = make_workspace(session)
    user = User(**{**fields, **overrides})
    session.add(user)
    session.flush()
    return user


def make_project(session: Session, **overrides: Any) -> Project:
    n = next(_seq)
    rubric = overrides.pop("rubric", RUBRIC)
    instructions = overrides.pop("instructions", "Judge **carefully**.")
    if "workspace" not in overrides and "workspace_id" not in overrides:
        overrides["workspace"] = make_workspace(session)
    project = Project(**{
        "slug": f"project-{n}", "name": f"Project {n}", "domain": "finance", "kind": TaskKind.pairwise,
        "judgements_per_task": 2, "review_rate": 0.0, "gold_rate": 0.0, "lease_minutes": 30,
        "pay_rules": {}, "models": [], "status": ProjectStatus.active, "guideline_version": 1, **overrides,
    })
    session.add(project)
    session.flush()
    session.add(GuidelineVersion(project_id=project.id, version=project.guideline_version, instructions=instructions,
                                 rubric=rubric, content_hash=sha256_json([instructions, rubric])))
    session.flush()
    return project


def make_prompt(session: Session, project: Project, **overrides: Any) -> Prompt:
    n = next(_seq)
    messages = overrides.pop("messages", [{"role": "user", "content": f"Question {n}: what is the WACC?"}])
    prompt = Prompt(**{"project_id": project.id, "external_id": f"p-{n}", "messages": messages, "tags": [], "meta": {},
                       "content_hash": sha256_json({"messages": messages}), **overrides})
    session.add(prompt)
    session.flush()
    return prompt


def make_completion(session: Session, prompt: Prompt, **overrides: Any) -> Completion:
    n = next(_seq)
    text = overrides.pop("text", f"Answer {n}: WACC = E/V·Re + D/V·Rd·(1−t).")
    completion = Completion(**{"prompt_id": prompt.id, "model_name": f"model-{n}", "text": text,
                               "source": CompletionSource.imported, "generation": {}, "content_hash": sha256_text(text),
                               **overrides})
    session.add(completion)
    session.flush()
    return completion


def make_task(session: Session, project: Project | None = None, *, answers: int | None = None, **overrides: Any) -> Task:
    """A task with ``answers`` completions (2 for pairwise, 4 for ranking by default)."""
    project = project or make_project(session)
    answers = answers or (2 if project.kind is TaskKind.pairwise else 4)
    prompt = overrides.pop("prompt", None) or make_prompt(session, project)
    completions = [make_completion(session, prompt) for _ in range(answers)]
    task = Task(project_id=project.id, prompt_id=prompt.id, signature=f"sig-{next(_seq)}", **overrides)
    task.items = [TaskItem(position=i, completion_id=c.id) for i, c in enumerate(completions)]
    session.add(task)
    session.flush()
    return task


def make_assignment(session: Session, task: Task, expert: User, **overrides: Any) -> Assignment:
    now = overrides.pop("now", NOW)
    assignment = Assignment(**{"task_id": task.id, "expert_id": expert.id, "display_order": list(range(len(task.items))),
                               "claimed_at": now, "lease_expires_at": now + dt.timedelta(minutes=30), **overrides})
    session.add(assignment)
    session.flush()
    return assignment


def make_judgement(session: Session, assignment: Assignment | None = None, **overrides: Any) -> Judgement:
    if assignment is None:
        task = overrides.pop("task", None) or make_task(session)
        expert = overrides.pop("expert", None) or make_user(session)
        assignment = make_assignment(session, task, expert)
    status = overrides.pop("status", JudgementStatus.submitted)
    fields: dict[str, Any] = {
        "assignment_id": assignment.id, "task_id": assignment.task_id, "expert_id": assignment.expert_id,
        "status": status, "preference": -2 if status is not JudgementStatus.draft else None, "confidence": 4,
        "rubric_scores": {}, "critiques": {}, "flags": [], "guideline_version": 1,
        "submitted_at": NOW if status is not JudgementStatus.draft else None,
    }
    judgement = Judgement(**{**fields, **overrides})
    session.add(judgement)
    session.flush()
    return judgement
