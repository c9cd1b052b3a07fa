"""A small fixed scenario for export tests: every id, name and text is pinned, so files are golden."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rlhf_app.models import JudgementStatus, Project, Review, ReviewVerdict, Role, Task, TaskItem, TaskKind, User

from .. import factories

HOSTILE_PROMPT = "Explain\u2028this: \u200fשלום عليكم\u200e 📈 \"quoted\" \\ back\\slash\ttab"
HOSTILE_ANSWER = "Line one\u2029line two\u0085next 🚀 «guillemets» \"q\" \u202eRTL override\u202c end"
SINGLE = [{"role": "user", "content": "What is the WACC of a firm with 40% debt?"}]
MULTI = [
    {"role": "system", "content": "You are a careful CFO."},
    {"role": "user", "content": "Should we refinance?"},
    {"role": "assistant", "content": "What is your current rate?"},
    {"role": "user", "content": "7.5% fixed, 4 years left."},
]


def make_experts(session: Session) -> list[User]:
    names = ("alpha", "bravo", "charlie")
    return [factories.make_user(session, Role.expert, email=f"{n}@golden.test", name=n.title(), pseudonym=f"exp_{n}")
            for n in names]


def make_golden_project(session: Session, **overrides: Any) -> Project:
    workspace = factories.make_workspace(session, slug="golden-lab", name="Golden Lab")
    fields = {"slug": "golden", "name": "Golden project", "workspace": workspace, "judgements_per_task": 2}
    return factories.make_project(session, **{**fields, **overrides})


def add_task(session: Session, project: Project, key: str, messages: list[dict[str, str]],
             answers: tuple[str, ...], **task_fields: Any):
    prompt = factories.make_prompt(session, project, external_id=key, messages=messages)
    completions = [factories.make_completion(session, prompt, model_name=f"model-{'abcdefghi'[i]}", text=text)
                   for i, text in enumerate(answers)]
    task = Task(project_id=project.id, prompt_id=prompt.id, signature=f"sig-{key}", **task_fields)
    task.items = [TaskItem(position=i, completion_id=c.id) for i, c in enumerate(completions)]
    session.add(task)
    session.flush()
    return task


def judge(session: Session, task, expert: User, preference: int | None, **fields: Any):
    display = fields.pop("display_order", None) or list(range(len(task.items)))
    assignment = factories.make_assignment(session, task, expert, display_order=display)
    return factories.make_judgement(session, assignment, preference=preference, **fields)


def build_golden(session: Session) -> Project:
    """Five prompts (one hostile, one multi-turn), a tie, a near tie, a rewrite, a gold task, reviews."""
    project = make_golden_project(session)
    alpha, bravo, charlie = make_experts(session)
    wacc = add_task(session, project, "p-wacc", SINGLE, ("WACC is about 8%.", "Ask your bank."))
    ids = [str(item.completion_id) for item in wacc.items]
    first = judge(session, wacc, alpha, -2, display_order=[1, 0], confidence=5,
                  rubric_scores={ids[0]: {"accuracy": 4, "clarity": 3}, ids[1]: {"accuracy": 1}},
                  critiques={ids[0]: "Right order of magnitude.", ids[1]: "Evasive."},
                  rewrite="WACC = E/V·Re + D/V·Rd·(1−t) ≈ 7.9% here.", rewrite_source_id=wacc.items[0].completion_id,
                  flags=["factual_error"], active_seconds=312)
    judge(session, wacc, bravo, -3, active_seconds=120)
    session.add(Review(judgement_id=first.id, reviewer_id=factories.make_user(session, Role.reviewer, pseudonym="rev_1").id,
                       verdict=ReviewVerdict.approve, comment="Good."))
    refinance = add_task(session, project, "p-refi", MULTI, ("Refinance now at 6.1%.", "Wait for rates to fall."))
    judge(session, refinance, alpha, 1)
    judge(session, refinance, bravo, 2)
    tie = add_task(session, project, "p-tie", [{"role": "user", "content": "Lease or buy?"}], ("Lease.", "Buy."))
    judge(session, tie, alpha, -1)
    judge(session, tie, bravo, 1)
    near = add_task(session, project, "p-near", [{"role": "user", "content": "Is EBITDA cash?"}], ("No.", "Mostly."))
    judge(session, near, alpha, -1)
    judge(session, near, bravo, 0)
    judge(session, near, charlie, 0)
    hostile = add_task(session, project, "p-hostile", [{"role": "user", "content": HOSTILE_PROMPT}],
                       (HOSTILE_ANSWER, "Plain answer."))
    judge(session, hostile, charlie, -3, rewrite="Rewritten\u2028answer 🚀")
    gold = add_task(session, project, "p-gold", [{"role": "user", "content": "Gold question?"}],
                    ("Gold right.", "Gold wrong."), is_gold=True, gold_preference=-2)
    judge(session, gold, alpha, -1)
    judge(session, gold, bravo, 2)
    judge(session, gold, charlie, -3)
    draft = add_task(session, project, "p-draft", [{"role": "user", "content": "Draft only?"}], ("Yes.", "No."))
    judge(session, draft, alpha, None, status=JudgementStatus.draft)
    return project


def make_ranking_project(session: Session) -> Project:
    """One ranking task (4 answers) judged by two experts with a tie inside the ranking."""
    workspace = factories.make_workspace(session, slug="rank-lab", name="Rank Lab")
    project = factories.make_project(session, slug="ranked", name="Ranked", workspace=workspace, kind=TaskKind.ranking)
    alpha, bravo, _ = make_experts(session)
    task = add_task(session, project, "r-1", [{"role": "user", "content": "Rank these memos."}],
                    ("Memo A", "Memo B", "Memo C", "Memo D"))
    judge(session, task, alpha, None, ranking=[1, 2, 3, 4])
    judge(session, task, bravo, None, ranking=[1, 3, 2, 2])
    return project
