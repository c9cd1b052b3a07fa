"""Parsing the annotate form and its JSON twin: types, lengths, text that breaks storage (pure)."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from rlhf_app.annotate.forms import (
    MAX_CRITIQUE, MAX_REWRITE, JudgementInput, parse_confirm, parse_idempotency_key, parse_judgement_form,
    parse_judgement_json,
)
from rlhf_app.common.errors import ValidationError

FULL_JSON = {
    "preference": -2, "confidence": 4, "scores": {"11": {"accuracy": 4, "clarity": 2}, "12": {"accuracy": 3}},
    "critiques": {"11": "Right tax shield.", "12": "Pre-tax Rd."}, "rewrite": "Better answer.",
    "rewrite_source_id": 11, "flags": ["factual_error", "unsafe"], "idempotency_key": "k" * 16, "confirm": False,
}


def errors_of(call, *args) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call(*args)
    return caught.value.errors


def test_json_parses_every_field():
    data = parse_judgement_json(FULL_JSON)
    assert data == JudgementInput(
        preference=-2, ranking=None, confidence=4, scores={11: {"accuracy": 4, "clarity": 2}, 12: {"accuracy": 3}},
        critiques={11: "Right tax shield.", 12: "Pre-tax Rd."}, rewrite="Better answer.", rewrite_source_id=11,
        flags=("factual_error", "unsafe"))


def test_json_empty_object_is_an_empty_draft():
    assert parse_judgement_json({}) == JudgementInput()


def test_json_ranking_is_keyed_by_completion_id():
    assert parse_judgement_json({"ranking": {"5": 1, "6": 1, "7": 3}}).ranking == {5: 1, 6: 1, 7: 3}


@pytest.mark.parametrize(("data", "field", "needle"), [
    ({"preference": 4}, "preference", "from -3 to 3"),
    ({"preference": -4}, "preference", "from -3 to 3"),
    ({"preference": "2"}, "preference", "whole number"),
    ({"preference": 1.5}, "preference", "whole number"),
    ({"preference": True}, "preference", "whole number"),
    ({"confidence": 0}, "confidence", "from 1 to 5"),
    ({"confidence": 6}, "confidence", "from 1 to 5"),
    ({"ranking": [1, 2]}, "ranking", "object keyed by completion id"),
    ({"ranking": {"x": 1}}, "ranking", "not a completion id"),
    ({"ranking": {"5": 0}}, "rank-5", "from 1 to 9"),
    ({"ranking": {str(i): 1 for i in range(1, 12)}}, "ranking", "at most 9"),
    ({"scores": {"5": {"accuracy": "high"}}}, "score-5-accuracy", "whole number"),
    ({"scores": {"5": [4]}}, "score-5", "criterion scores"),
    ({"scores": {"5": {"<b>": 4}}}, "score-5", "not a criterion key"),
    ({"scores": {"-1": {"accuracy": 4}}}, "scores", "not a completion id"),
    ({"critiques": {"5": 42}}, "critique-5", "must be text"),
    ({"critiques": {"5": "x" * (MAX_CRITIQUE + 1)}}, "critique-5", "the limit is 20,000"),
    ({"critiques": {"5": "nul\x00byte"}}, "critique-5", "NUL"),
    ({"critiques": {"5": "lone \ud800 surrogate"}}, "critique-5", "surrogate"),
    ({"rewrite": "x" * (MAX_REWRITE + 1)}, "rewrite", "the limit is 100,000"),
    ({"rewrite": "a\x00b"}, "rewrite", "NUL"),
    ({"rewrite": ["text"]}, "rewrite", "must be text"),
    ({"rewrite_source_id": "abc"}, "rewrite_source_id", "completion id"),
    ({"rewrite_source_id": -3}, "rewrite_source_id", "completion id"),
    ({"flags": "unsafe"}, "flags", "list of flag names"),
    ({"flags": ["made_up"]}, "flags", "is not a flag"),
])
def test_json_rejects_bad_values_naming_the_field(data, field, needle):
    errors = errors_of(parse_judgement_json, data)
    assert field in errors and needle in errors[field]


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_json_body_must_be_an_object(body):
    assert "body" in errors_of(parse_judgement_json, body)


def test_json_reports_every_bad_field_at_once():
    errors = errors_of(parse_judgement_json, {"preference": 9, "confidence": 9, "rewrite": 1})
    assert set(errors) == {"preference", "confidence", "rewrite"}


def test_json_exact_limits_are_accepted():
    data = parse_judgement_json({"critiques": {"5": "x" * MAX_CRITIQUE}, "rewrite": "y" * MAX_REWRITE})
    assert len(data.critiques[5]) == MAX_CRITIQUE and len(data.rewrite or "") == MAX_REWRITE


def test_json_duplicate_flags_collapse_in_order():
    assert parse_judgement_json({"flags": ["unsafe", "bad_prompt", "unsafe"]}).flags == ("unsafe", "bad_prompt")


def form(**fields) -> MultiDict:
    data = MultiDict()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key.replace("__", "-"), item)
    return data


def test_form_parses_every_field():
    data = parse_judgement_form(form(
        preference="3", confidence="2", score__11__accuracy="4", score__12__accuracy="1",
        critique__11="Fine.", critique__12="", rewrite="Fixed.", rewrite_source_id="12",
        flags=["unsafe", "factual_error"], idempotency_key="abc", csrf_token="t"))
    assert data == JudgementInput(preference=3, confidence=2, scores={11: {"accuracy": 4}, 12: {"accuracy": 1}},
                                  critiques={11: "Fine."}, rewrite="Fixed.", rewrite_source_id=12,
                                  flags=("unsafe", "factual_error"))


def test_form_empty_fields_are_unset():
    assert parse_judgement_form(form(preference="", confidence=" ", rewrite="", rewrite_source_id="")) == JudgementInput()


def test_form_ranks_become_a_ranking():
    assert parse_judgement_form(form(rank__5="2", rank__6="1", rank__7="")).ranking == {5: 2, 6: 1}


def test_form_score_keys_may_hold_underscores_and_dashes():
    assert parse_judgement_form(form(**{"score__7__risks_assumptions": "3"})).scores == {7: {"risks_assumptions": 3}}


@pytest.mark.parametrize(("fields", "field", "needle"), [
    ({"preference": "A"}, "preference", "whole number"),
    ({"preference": "7"}, "preference", "from -3 to 3"),
    ({"confidence": "5.5"}, "confidence", "whole number"),
    ({"rank__5": "first"}, "rank-5", "whole number"),
    ({"score__5__accuracy": "x"}, "score-5-accuracy", "whole number"),
    ({"critique__5": "x" * (MAX_CRITIQUE + 1)}, "critique-5", "limit"),
    ({"rewrite": "bad\x00"}, "rewrite", "NUL"),
    ({"rewrite_source_id": "two"}, "rewrite_source_id", "completion id"),
    ({"flags": ["nope"]}, "flags", "is not a flag"),
])
def test_form_rejects_bad_values_naming_the_field(fields, field, needle):
    errors = errors_of(parse_judgement_form, form(**fields))
    assert field in errors and needle in errors[field]


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("0b3c5e9a-1f2d-4c3b-9a8e-7d6c5b4a3f21", "0b3c5e9a-1f2d-4c3b-9a8e-7d6c5b4a3f21"),
    ("a" * 64, "a" * 64),
])
def test_idempotency_key_accepts_uuids_and_absence(value, expected):
    assert parse_idempotency_key(value) == expected


@pytest.mark.parametrize("value", ["short", "a" * 65, "has space here", 12345678, "semi;colon!"])
def test_idempotency_key_rejects_odd_values(value):
    assert "idempotency_key" in errors_of(parse_idempotency_key, value)


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), (False, False), (True, True), ("1", True), ("on", True), ("true", True), ("0", False), ("", False),
])
def test_confirm_reads_json_and_form_values(value, expected):
    assert parse_confirm(value) is expected


@pytest.mark.parametrize("value", ["maybe", 1, [True]])
def test_confirm_rejects_other_values(value):
    assert "confirm" in errors_of(parse_confirm, value)


MODULES_WITHOUT_FLASK = ["annotate/forms.py", "annotate/activity.py", "annotate/statements.py", "tasks/statements.py"]


@pytest.mark.parametrize("module", MODULES_WITHOUT_FLASK)
def test_annotate_domain_modules_never_import_flask(module):
    from ..test_layering import PACKAGE, flask_imports

    assert flask_imports(PACKAGE / module) == []
