"""Rubric-aware rules: shape on drafts, completeness on submit, contradictions to confirm (pure)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from rlhf_app.annotate.forms import JudgementInput
from rlhf_app.annotate.validation import TaskShape, contradictions, draft_problems, submit_problems

from ..factories import RUBRIC

A, B = 21, 22            # completion ids; canonical order (A, B), shown reversed: B is "A" on screen
PAIR = TaskShape(completion_ids=(A, B), display_order=(1, 0), criteria=tuple(RUBRIC["criteria"]),
                 texts={A: "first answer text", B: "second answer text"})
RANK = TaskShape(completion_ids=(31, 32, 33), display_order=(0, 1, 2), criteria=tuple(RUBRIC["criteria"]),
                 texts={31: "x", 32: "y", 33: "z"})

COMPLETE = JudgementInput(
    preference=2, confidence=4,  # display order: positive prefers the second shown, which is A (id 21)
    scores={A: {"accuracy": 5, "clarity": 3}, B: {"accuracy": 2}},
    critiques={A: "Right.", B: "Wrong rate."}, rewrite="A better answer.", rewrite_source_id=A,
)
COMPLETE_RANKING = JudgementInput(
    ranking={31: 1, 32: 2, 33: 2}, confidence=3, scores={c: {"accuracy": 4} for c in (31, 32, 33)},
    critiques={c: "ok" for c in (31, 32, 33)}, rewrite="r", rewrite_source_id=31,
)


def test_complete_pairwise_judgement_has_no_problems():
    assert submit_problems(COMPLETE, PAIR) == {}
    assert contradictions(COMPLETE, PAIR) == {}


def test_complete_ranking_judgement_has_no_problems():
    assert submit_problems(COMPLETE_RANKING, RANK) == {}


def test_empty_draft_has_no_problems():
    assert draft_problems(JudgementInput(), PAIR) == {}
    assert draft_problems(JudgementInput(), RANK) == {}


def test_labels_follow_the_display_order():
    assert PAIR.label(B) == "A" and PAIR.label(A) == "B"
    assert PAIR.displayed_ids() == [B, A]


@pytest.mark.parametrize(("change", "field", "needle"), [
    ({"preference": None}, "preference", "-3"),
    ({"confidence": None}, "confidence", "1 (guess) to 5"),
    ({"scores": {A: {"accuracy": 5}}}, f"score-{B}-accuracy", "Score Accuracy for answer A (1 to 5)"),
    ({"critiques": {A: "Right."}}, f"critique-{B}", "critique of answer A"),
    ({"critiques": {A: "Right.", B: "   "}}, f"critique-{B}", "critique of answer A"),
    ({"rewrite": None}, "rewrite", "Write the rewrite"),
    ({"rewrite_source_id": None}, "rewrite_source_id", "which answer"),
])
def test_submit_names_each_missing_field(change, field, needle):
    problems = submit_problems(replace(COMPLETE, **change), PAIR)
    assert field in problems and needle in problems[field]


def test_submit_does_not_require_optional_criteria():
    assert f"score-{B}-clarity" not in submit_problems(COMPLETE, PAIR)


def test_ranking_submit_needs_every_answer_ranked():
    problems = submit_problems(replace(COMPLETE_RANKING, ranking={31: 1, 32: 2}), RANK)
    assert problems == {"rank-33": "Rank answer C (1 is best, 1 to 3)."}


def test_rewrite_can_be_optional_per_rubric():
    shape = replace(PAIR, rewrite_required=False)
    assert submit_problems(replace(COMPLETE, rewrite=None, rewrite_source_id=None), shape) == {}


@pytest.mark.parametrize(("shape", "data", "field", "needle"), [
    (PAIR, JudgementInput(scores={A: {"accuracy": 6}}), f"score-{A}-accuracy", "Accuracy for answer B is 6; use 1 to 5"),
    (PAIR, JudgementInput(scores={A: {"clarity": 0}}), f"score-{A}-clarity", "use 1 to 3"),
    (PAIR, JudgementInput(scores={A: {"style": 3}}), f"score-{A}-style", "not a rubric criterion"),
    (PAIR, JudgementInput(scores={99: {"accuracy": 3}}), "score-99", "not one of this task's answers"),
    (PAIR, JudgementInput(critiques={99: "?"}), "critique-99", "not one of this task's answers"),
    (PAIR, JudgementInput(rewrite_source_id=99), "rewrite_source_id", "not one of this task's answers"),
    (PAIR, JudgementInput(ranking={A: 1, B: 2}), "ranking", "give a preference"),
    (RANK, JudgementInput(preference=1), "preference", "rank them instead"),
    (RANK, JudgementInput(ranking={31: 4}), "rank-31", "outside 1 to 3"),
    (RANK, JudgementInput(ranking={99: 1}), "rank-99", "not one of this task's answers"),
])
def test_draft_checks_shape_and_ranges(shape, data, field, needle):
    problems = draft_problems(data, shape)
    assert field in problems and needle in problems[field]


def test_draft_out_of_scale_is_also_a_submit_problem():
    problems = submit_problems(replace(COMPLETE, scores={A: {"accuracy": 9}, B: {"accuracy": 2}}), PAIR)
    assert "use 1 to 5" in problems[f"score-{A}-accuracy"]


@pytest.mark.parametrize(("preference", "scores", "warned"), [
    (2, {A: {"accuracy": 1}, B: {"accuracy": 5}}, True),       # picked A (id 21) yet scored B higher
    (2, {A: {"accuracy": 1, "clarity": 3}, B: {"accuracy": 5, "clarity": 1}}, False),  # not on every criterion
    (2, {A: {"accuracy": 3}, B: {"accuracy": 3}}, False),      # a tie is not a contradiction
    (-2, {A: {"accuracy": 1}, B: {"accuracy": 5}}, False),     # picked B and scored B higher
    (0, {A: {"accuracy": 1}, B: {"accuracy": 5}}, False),      # "about the same" prefers nobody
])
def test_preference_against_scores(preference, scores, warned):
    data = replace(COMPLETE, preference=preference, scores=scores)
    warnings = contradictions(data, PAIR)
    assert ("preference" in warnings) is warned
    if warned:
        assert warnings["preference"] == "You preferred answer B but scored answer A higher on every criterion (accuracy)."


def test_ranking_against_scores_warns_on_the_better_ranked_answer():
    data = replace(COMPLETE_RANKING, scores={31: {"accuracy": 1}, 32: {"accuracy": 5}, 33: {"accuracy": 1}})
    assert "rank-31" in contradictions(data, RANK)


@pytest.mark.parametrize(("rewrite", "warned"), [
    ("first answer text", True), ("  first   answer\ntext ", True), ("first answer text, fixed", False),
])
def test_rewrite_identical_to_its_source_is_a_warning(rewrite, warned):
    warnings = contradictions(replace(COMPLETE, rewrite=rewrite), PAIR)
    assert ("rewrite" in warnings) is warned
