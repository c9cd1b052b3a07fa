"""Every format exports from the shipped prompt sets once they are judged, and matches its schema."""
from __future__ import annotations

import random
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select

from rlhf_app.auth.service import get_or_create_workspace
from rlhf_app.export.formats import FORMAT_NAMES
from rlhf_app.models import Judgement, JudgementStatus, Role, Task, TaskKind
from rlhf_app.projects import service as projects
from rlhf_app.projects.loader import read_folder
from rlhf_app.tasks.build import build_tasks

from .. import factories
from .conftest import all_rows
from .schemas import schema_for
from .scenario import judge

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
FOLDERS = sorted(p for p in PROMPTS.iterdir() if (p / "project.toml").exists()) if PROMPTS.is_dir() else []
LAYERED = [p for p in (Path(__file__).resolve().parents[2] / "rlhf_app" / "export").glob("*.py") if p.name != "views.py"]


def judge_everything(session, project, experts, rng: random.Random) -> None:
    """Two experts per task: random preferences or rankings, a rewrite now and then, all approved."""
    tasks = session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()
    for task in tasks:
        for expert in rng.sample(experts, 2):
            fields: dict = {"status": JudgementStatus.approved}
            if rng.random() < 0.2:
                fields.update(rewrite=f"A better answer by {expert.pseudonym}.", rewrite_source_id=task.items[0].completion_id)
            if project.kind is TaskKind.ranking:
                judge(session, task, expert, None, ranking=[rng.randint(1, len(task.items)) for _ in task.items], **fields)
            else:
                judge(session, task, expert, rng.choice([-3, -2, -1, 0, 1, 2, 3]), **fields)


@pytest.fixture
def judged_sets(session):
    workspace = get_or_create_workspace(session, "demo-lab")
    experts = [factories.make_user(session, Role.expert) for _ in range(4)]
    loaded = []
    for folder in FOLDERS:
        spec, prompts, completions = read_folder(folder)
        project = projects.load_project(session, spec, prompts, completions, workspace=workspace).project
        build_tasks(session, project)
        judge_everything(session, project, experts, random.Random(folder.name))
        loaded.append(project)
    session.commit()
    return loaded


@pytest.mark.skipif(not FOLDERS, reason="no prompt sets in prompts/")
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_format_exports_the_judged_prompt_sets(judged_sets, export_to, session, fmt):
    assert session.scalar(select(Judgement.id).limit(1)) is not None
    for project in judged_sets:
        run, folder = export_to(project, format=fmt, with_rewrites=True, margin=True)
        rows = all_rows(folder)
        assert rows or fmt == "openai-dpo", f"{project.slug}: no {fmt} rows"
        schema = schema_for(fmt)
        for row in rows:
            jsonschema.validate(row, schema)
        assert run.row_counts["experts"] == 4


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.name)
def test_export_modules_other_than_views_never_import_flask(path):
    text = path.read_text("utf-8")
    assert "import flask" not in text and "from flask" not in text
