"""Prompt-set folders: every problem reported with file and line, nothing half-loaded, reloads are no-ops."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rlhf_app.auth.service import get_or_create_workspace
from rlhf_app.models import AuditEvent, Completion, GuidelineVersion, Project, Prompt
from rlhf_app.projects import service
from rlhf_app.projects.loader import LoadError, read_folder

PROJECT_TOML = '''
slug = "tiny-finance"
name = "Tiny finance"
domain = "finance"
kind = "pairwise"
judgements_per_task = 2
instructions = "Judge the answers."

[pay]
hourly_rate_cents = 20000

[[rubric.criteria]]
key = "accuracy"
title = "Accuracy"
scale_min = 1
scale_max = 3
required = true
levels = ["wrong", "partly right", "right"]
'''


MODEL_TOML = '''
[[models]]
name = "local"
base_url = "http://127.0.0.1:8000/v1"
model = "qwen"
'''


def write_set(folder: Path, *, toml: str = PROJECT_TOML, prompts: list | None = None, completions: list | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.toml").write_text(toml, encoding="utf-8")
    prompts = prompts if prompts is not None else [
        {"external_id": f"q{i}", "messages": [{"role": "user", "content": f"What is the WACC of firm {i}?"}]} for i in range(3)
    ]
    completions = completions if completions is not None else [
        {"prompt_id": f"q{i}", "model": model, "text": f"{model} answer {i}"} for i in range(3) for model in ("a", "b")
    ]
    (folder / "prompts.jsonl").write_text("".join(_line(p) for p in prompts), encoding="utf-8")
    (folder / "completions.jsonl").write_text("".join(_line(c) for c in completions), encoding="utf-8")
    return folder


def _line(row) -> str:
    return (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n"


def load(session, folder: Path):
    spec, prompts, completions = read_folder(folder)
    workspace = get_or_create_workspace(session, "lab")
    result = service.load_project(session, spec, prompts, completions, workspace=workspace)
    session.commit()
    return result


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Project, Prompt, Completion))


def test_valid_folder_loads_everything(session, tmp_path):
    result = load(session, write_set(tmp_path / "set"))
    assert (result.created, result.prompts_added, result.completions_added) == (True, 3, 6)
    assert counts(session) == (1, 3, 6)
    assert session.scalar(select(GuidelineVersion.version)) == 1


def test_loading_the_same_folder_twice_changes_nothing(session, tmp_path):
    folder = write_set(tmp_path / "set")
    load(session, folder)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    again = load(session, folder)
    assert (again.created, again.prompts_added, again.completions_added) == (False, 0, 0)
    assert (again.prompts_unchanged, again.completions_unchanged) == (3, 6)
    assert counts(session) == (1, 3, 6)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_changed_rubric_adds_a_guideline_version(session, tmp_path):
    folder = write_set(tmp_path / "set")
    load(session, folder)
    write_set(folder, toml=PROJECT_TOML.replace('"partly right"', '"half right"'))
    load(session, folder)
    assert session.scalars(select(GuidelineVersion.version).order_by(GuidelineVersion.version)).all() == [1, 2]
    assert session.scalar(select(Project.guideline_version)) == 2


BAD_CASES = {
    "malformed toml": (dict(toml="slug = "), "project.toml: not valid TOML"),
    "unknown rubric key": (dict(toml=PROJECT_TOML.replace('required = true', 'required = true\nweight = 2')), "unknown key 'weight'"),
    "wrong level count": (dict(toml=PROJECT_TOML.replace('"wrong", ', '')), "'levels' must list 3 descriptions"),
    "bad kind": (dict(toml=PROJECT_TOML.replace('"pairwise"', '"pointwise"')), "'kind' must be pairwise or ranking"),
    "malformed json line": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "x"}]}, '{"external_id": "q1",']),
                            "prompts.jsonl:2: not valid JSON"),
    "duplicate external id": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "x"}]}] * 2, completions=[]),
                              "prompts.jsonl:2: external_id 'q0' is already used on line 1"),
    "nul character": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "a\u0000b"}]}], completions=[]),
                      "prompts.jsonl:1: message 1: 'content' contains a NUL character"),
    "overlong content": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "x" * 100_001}]}], completions=[]),
                         "the limit is 100,000"),
    "last turn not user": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}], completions=[]),
                           "the last message must come from the user"),
    "wrong type": (dict(prompts=[{"external_id": 7, "messages": [{"role": "user", "content": "a"}]}], completions=[]),
                   "'external_id' must be text, not int"),
    "unknown prompt in completions": (dict(completions=[{"prompt_id": "nope", "model": "a", "text": "t"}]),
                                      "completions.jsonl:1: prompt_id 'nope' is not in prompts.jsonl"),
    "duplicate completion": (dict(completions=[{"prompt_id": "q0", "model": "a", "text": "t"}] * 2),
                             "completions.jsonl:2: model 'a' already has a completion for 'q0'"),
    "duplicate model name": (dict(toml=PROJECT_TOML + MODEL_TOML + MODEL_TOML), "models #2: the name 'local' is used twice"),
    "gold names unknown model": (dict(prompts=[{"external_id": "q0", "messages": [{"role": "user", "content": "a"}],
                                                "gold": {"better_model": "zz", "strength": 2, "explanation": ""}}],
                                      completions=[{"prompt_id": "q0", "model": "a", "text": "t"}]),
                                 "gold better_model 'zz' has no completion"),
}


@pytest.mark.parametrize("case", BAD_CASES, ids=list(BAD_CASES))
def test_bad_input_is_reported_with_file_and_line_and_nothing_loads(session, tmp_path, case):
    kwargs, expected = BAD_CASES[case]
    folder = write_set(tmp_path / "set", **kwargs)
    with pytest.raises(LoadError) as info:
        load(session, folder)
    assert any(expected in error for error in info.value.errors), info.value.errors
    assert counts(session) == (0, 0, 0)


def test_non_utf8_line_is_reported_with_its_line_number(session, tmp_path):
    folder = write_set(tmp_path / "set")
    with (folder / "prompts.jsonl").open("ab") as handle:
        handle.write(b'{"external_id": "q9", "messages": [{"role": "user", "content": "caf\xe9"}]}\n')
    with pytest.raises(LoadError) as info:
        load(session, folder)
    assert any("prompts.jsonl:4: not UTF-8 text" in e for e in info.value.errors)
    assert counts(session) == (0, 0, 0)


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    folder = write_set(tmp_path / "set", prompts=["{", "[]", {"external_id": "", "messages": []}], completions=[])
    with pytest.raises(LoadError) as info:
        read_folder(folder)
    lines = {e.split(": ")[0].rsplit(":", 1)[-1] for e in info.value.errors if "prompts.jsonl:" in e}
    assert lines == {"1", "2", "3"}


def test_changed_prompt_text_on_reload_is_refused_and_rolls_back(session, tmp_path):
    folder = write_set(tmp_path / "set")
    load(session, folder)
    prompts = [{"external_id": "q0", "messages": [{"role": "user", "content": "Changed"}]},
               {"external_id": "q7", "messages": [{"role": "user", "content": "New"}]}]
    write_set(folder, prompts=prompts, completions=[])
    with pytest.raises(LoadError) as info:
        load(session, folder)
    session.rollback()
    assert "'q0' was loaded before with different messages" in info.value.errors[0]
    assert counts(session) == (1, 3, 6)


SHIPPED = sorted(p for p in (Path(__file__).resolve().parents[2] / "prompts").iterdir() if (p / "project.toml").exists())


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_prompt_sets_are_valid_and_substantial(folder):
    project, prompts, completions = read_folder(folder)
    per_task = 2 if project.kind == "pairwise" else 4
    assert len(prompts) >= (30 if project.kind == "pairwise" else 10)
    assert len(completions) == per_task * len(prompts)
    words = [len(c.text.split()) for c in completions]
    assert min(words) >= 150 and max(words) <= 500
    assert all(len(c["levels"]) == c["scale_max"] - c["scale_min"] + 1 for c in project.rubric["criteria"])


def test_reload_keeps_models_added_from_the_cli(session, tmp_path):
    folder = write_set(tmp_path / "set", toml=PROJECT_TOML + MODEL_TOML)
    project = load(session, folder).project
    project.models = project.models + [{"name": "cli-added", "base_url": "http://127.0.0.1:9/v1", "model": "m"}]
    session.commit()
    load(session, folder)
    session.rollback()
    session.expire_all()
    assert [m["name"] for m in session.scalar(select(Project)).models] == ["local", "cli-added"]
