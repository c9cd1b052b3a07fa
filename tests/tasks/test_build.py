"""``rlhf tasks build``: strategies, idempotency, identical texts, gold, and the command's errors."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rlhf_app.common.errors import ValidationError
from rlhf_app.models import Task, TaskKind
from rlhf_app.tasks.build import build_tasks, parse_strategy

from .. import factories


def prompt_with(session, project, texts: dict[str, str], **prompt_fields):
    prompt = factories.make_prompt(session, project, **prompt_fields)
    for model, text in texts.items():
        factories.make_completion(session, prompt, model_name=model, text=text)
    return prompt


def task_models(session, project) -> list[list[str]]:
    tasks = session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()
    return [[c.model_name for c in task.completions] for task in tasks]


def test_all_pairs_builds_every_pair_once(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "b": "B", "c": "C"})
    first = build_tasks(session, project, parse_strategy("all-pairs"))
    assert (first.created, first.existing) == (3, 0)
    assert task_models(session, project) == [["a", "b"], ["a", "c"], ["b", "c"]]
    again = build_tasks(session, project, parse_strategy("all-pairs"))
    assert (again.created, again.existing) == (0, 3)


def test_identical_texts_are_never_paired(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "same", "b": "same", "c": "other"})
    result = build_tasks(session, project)
    assert (result.created, result.identical_dropped) == (1, 1)
    assert task_models(session, project) == [["a", "c"]]


def test_vs_baseline_pairs_each_model_with_the_baseline_first(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "base": "B", "c": "C"})
    result = build_tasks(session, project, parse_strategy("vs-baseline:base"))
    assert result.created == 2
    assert task_models(session, project) == [["base", "a"], ["base", "c"]]


def test_vs_baseline_keeps_the_baseline_when_another_model_wrote_the_same_text(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "same", "base": "same", "c": "C"})
    result = build_tasks(session, project, parse_strategy("vs-baseline:base"))
    assert task_models(session, project) == [["base", "c"]] and result.identical_dropped == 1


def test_vs_baseline_with_an_unknown_model_is_an_error(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "b": "B"})
    with pytest.raises(ValidationError) as info:
        build_tasks(session, project, parse_strategy("vs-baseline:gpt-9"))
    assert "no completions from 'gpt-9'" in info.value.errors["strategy"]


def test_random_k_is_deterministic_and_idempotent(session):
    project = factories.make_project(session, kind=TaskKind.ranking)
    for _ in range(3):
        prompt_with(session, project, {m: f"{m} text" for m in "abcdef"})
    first = build_tasks(session, project, parse_strategy("random-k:4"))
    chosen = task_models(session, project)
    assert first.created == 3 and all(len(models) == 4 for models in chosen)
    assert build_tasks(session, project, parse_strategy("random-k:4")).created == 0
    assert task_models(session, project) == chosen


def test_random_k_skips_prompts_with_too_few_completions(session):
    project = factories.make_project(session, kind=TaskKind.ranking)
    prompt_with(session, project, {"a": "A", "b": "B", "c": "C"})
    result = build_tasks(session, project, parse_strategy("random-k:4"))
    assert (result.created, result.skipped_prompts) == (0, 1)


def test_all_ranks_every_distinct_completion(session):
    project = factories.make_project(session, kind=TaskKind.ranking)
    prompt_with(session, project, {"a": "A", "b": "B", "c": "C", "d": "D"})
    build_tasks(session, project)
    assert task_models(session, project) == [["a", "b", "c", "d"]]


@pytest.mark.parametrize("kind,strategy,message", [
    (TaskKind.pairwise, "all", "is pairwise"),
    (TaskKind.pairwise, "random-k:3", "is pairwise"),
    (TaskKind.ranking, "all-pairs", "ranks 3-9 answers"),
])
def test_strategy_must_fit_the_project_kind(session, kind, strategy, message):
    project = factories.make_project(session, kind=kind)
    with pytest.raises(ValidationError) as info:
        build_tasks(session, project, parse_strategy(strategy))
    assert message in info.value.errors["strategy"]


@pytest.mark.parametrize("text", ["random-k:1", "random-k:10", "vs-baseline:", "pairs", "all-pairs:x"])
def test_bad_strategy_strings_are_rejected(text):
    with pytest.raises(ValidationError):
        parse_strategy(text)


def test_gold_prompts_become_gold_tasks_with_the_expected_sign(session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "b": "B"}, gold={"better_model": "b", "strength": 2, "explanation": "B is right"})
    build_tasks(session, project)
    task = session.scalar(select(Task))
    assert (task.is_gold, task.gold_preference, task.gold_explanation) == (True, 2, "B is right")


def test_cli_builds_with_a_strategy_and_is_idempotent(runner, session):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "base": "B", "c": "C"})
    session.commit()
    first = runner.invoke(args=["tasks", "build", "--project", project.slug, "--strategy", "vs-baseline:base"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().startswith(f"{project.slug}: 2 tasks created, 0 already existed")
    second = runner.invoke(args=["tasks", "build", "--project", project.slug, "--strategy", "vs-baseline:base"])
    assert second.stdout.strip().startswith(f"{project.slug}: 0 tasks created, 2 already existed")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Task)) == 2


@pytest.mark.parametrize("args,message", [
    (["--project", "nope"], "no project 'nope'"),
    (["--strategy", "vs-baseline:ghost"], "no completions from 'ghost'"),
    (["--strategy", "all"], "is pairwise"),
])
def test_cli_errors_exit_non_zero_with_a_message(runner, session, args, message):
    project = factories.make_project(session)
    prompt_with(session, project, {"a": "A", "b": "B"})
    session.commit()
    result = runner.invoke(args=["tasks", "build", "--project", project.slug, *args])
    assert result.exit_code != 0 and message in result.output
