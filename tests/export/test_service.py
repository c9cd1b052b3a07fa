"""The export service on a real database: filters, splits, determinism, text, folders and records."""
from __future__ import annotations

import datetime as dt
import hashlib

import orjson
import pytest

from rlhf_app.common.errors import ValidationError
from rlhf_app.export.options import ExportOptions
from rlhf_app.export.service import open_stream, run_export
from rlhf_app.models import AuditEvent, ExportRun, JudgementStatus, Role

from .. import factories
from .conftest import GOLDEN_SPLIT, STAMP, all_rows, read_rows
from .scenario import HOSTILE_ANSWER, HOSTILE_PROMPT, add_task, judge, make_experts, make_golden_project


def prompts_of(rows: list[dict]) -> set[str]:
    return {orjson.dumps(row["prompt"]).decode() for row in rows}


def test_two_exports_of_the_same_data_are_byte_identical(golden, export_to):
    _, first = export_to(golden, format="trl", margin=True, with_rewrites=True)
    _, second = export_to(golden, now=STAMP + dt.timedelta(hours=5), format="trl", margin=True, with_rewrites=True)
    assert first.name != second.name  # only the folder's stamp differs
    for name in ("train.jsonl", "test.jsonl", "README.md", "manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_second_export_in_the_same_second_gets_its_own_folder(golden, export_to):
    _, first = export_to(golden, format="sft")
    _, second = export_to(golden, format="sft")
    assert second.name == first.name + "-2"


def test_manifest_lists_parameters_counts_and_the_sha256_of_every_file(golden, export_to):
    run, folder = export_to(golden, format="hh-rlhf", **GOLDEN_SPLIT)
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["parameters"] == run.parameters == ExportOptions(format="hh-rlhf", **GOLDEN_SPLIT).parameters()
    assert manifest["app_version"] and manifest["schema_version"] == 1
    for name in ("train.jsonl", "test.jsonl", "README.md"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert run.files["manifest.json"]["sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert manifest["counts"]["train"] == len(read_rows(folder, "train"))


def test_card_and_manifest_carry_no_wall_clock_time(golden, export_to):
    _, folder = export_to(golden, format="trl")
    for name in ("README.md", "manifest.json"):
        text = (folder / name).read_text("utf-8")
        assert "2026-11-03" not in text and "20261103" not in text and "12:00" not in text


def test_export_run_records_who_what_and_the_files(golden, export_to, session):
    run, folder = export_to(golden, format="trl")
    assert folder.name == "trl-20261103T120000Z" and folder.parent.name == "golden"
    stored = session.get(ExportRun, run.id)
    assert stored.folder == "golden/trl-20261103T120000Z"
    assert set(stored.files) == {"train.jsonl", "test.jsonl", "README.md", "manifest.json"}
    assert stored.created_at == STAMP and stored.completed_at >= STAMP
    assert session.query(AuditEvent).filter_by(action="export.created", object_id=str(run.id)).count() == 1


def test_no_temporary_folder_is_left_behind(golden, export_to, tmp_path):
    export_to(golden, format="trl")
    names = [p.name for p in (tmp_path / "exports" / "golden").iterdir()]
    assert names == ["trl-20261103T120000Z"]


def test_a_failed_export_leaves_no_folder_and_no_record(golden, session, tmp_path, monkeypatch):
    from rlhf_app.export import service

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service.card, "render_card", explode)
    with pytest.raises(RuntimeError):
        run_export(session, golden, ExportOptions(format="trl"), export_dir=tmp_path / "x", actor=None, now=STAMP)
    session.rollback()
    assert list((tmp_path / "x" / "golden").iterdir()) == []
    assert session.query(ExportRun).count() == 0


@pytest.mark.parametrize("options, field", [
    ({"format": "csv"}, "format"), ({"format": "trl", "aggregate": "median"}, "aggregate"),
    ({"format": "trl", "test_fraction": 1.0}, "test_fraction"), ({"format": "trl", "tie_threshold": -1}, "tie_threshold"),
    ({"format": "trl", "min_gold_accuracy": 1.5}, "min_gold_accuracy"),
    ({"format": "trl", "since": dt.date(2026, 2, 1), "until": dt.date(2026, 1, 1)}, "until"),
])
def test_bad_options_are_refused_with_the_field_named(golden, session, tmp_path, options, field):
    with pytest.raises(ValidationError) as info:
        run_export(session, golden, ExportOptions(**options), export_dir=tmp_path, actor=None, now=STAMP)
    assert field in info.value.errors


# --- splits ------------------------------------------------------------------------------------

@pytest.fixture
def many_prompts(session):
    """60 prompts, one of them loaded twice under two external ids, each with two judged tasks."""
    project = make_golden_project(session, slug="many")
    alpha, bravo, _ = make_experts(session)
    for n in range(60):
        messages = [{"role": "user", "content": f"Question {n % 59}"}]  # 0 and 59 share their text
        for k in range(2):
            task = add_task(session, project, f"q{n}-{k}", messages, (f"A{n}-{k}", f"B{n}-{k}")) if k == 0 else \
                add_task(session, project, f"q{n}-{k}", messages, (f"C{n}", f"D{n}"))
            judge(session, task, alpha, -2 if n % 3 else 2)
            judge(session, task, bravo, -1)
    session.commit()
    return project


def test_no_prompt_is_in_both_splits(many_prompts, export_to):
    _, folder = export_to(many_prompts, format="trl", test_fraction=0.3, seed=7)
    train, test = read_rows(folder, "train"), read_rows(folder, "test")
    assert train and test
    assert prompts_of(train).isdisjoint(prompts_of(test))


@pytest.mark.parametrize("seed, fraction", [(0, 0.2), (1, 0.5), (2**40, 0.9)])
def test_split_fraction_is_roughly_the_requested_share_of_prompts(many_prompts, export_to, seed, fraction):
    run, _ = export_to(many_prompts, format="trl", test_fraction=fraction, seed=seed)
    share = run.row_counts["prompts"]["test"] / sum(run.row_counts["prompts"].values())
    assert abs(share - fraction) < 0.25


def test_splits_depend_on_the_seed_and_nothing_else(many_prompts, export_to):
    _, a = export_to(many_prompts, format="trl", seed=1, test_fraction=0.5)
    _, b = export_to(many_prompts, format="hh-rlhf", seed=1, test_fraction=0.5)
    _, c = export_to(many_prompts, format="trl", seed=2, test_fraction=0.5)
    first = [row["prompt"][0]["content"] for row in read_rows(a, "test")]
    second = [row["chosen"].split("\n\nAssistant: ")[0].removeprefix("\n\nHuman: ") for row in read_rows(b, "test")]
    assert first == second
    assert prompts_of(read_rows(a, "test")) != prompts_of(read_rows(c, "test"))


def test_an_export_without_rows_says_so_in_its_card(golden, export_to):
    run, folder = export_to(golden, format="sft", since=dt.date(2030, 1, 1))
    assert run.row_counts["train"] + run.row_counts["test"] == 0
    card = (folder / "README.md").read_text()
    assert "This export has no rows" in card and "outside the date range" in card


def test_zero_test_fraction_puts_everything_in_train_and_the_card_lists_train_only(many_prompts, export_to):
    run, folder = export_to(many_prompts, format="trl", test_fraction=0.0)
    assert run.row_counts["test"] == 0 and (folder / "test.jsonl").read_bytes() == b""
    assert "split: \"test\"" not in (folder / "README.md").read_text()


# --- filters -----------------------------------------------------------------------------------

def pairs(folder) -> list[tuple[str, str]]:
    return sorted((row["chosen"][0]["content"], row["rejected"][0]["content"]) for row in all_rows(folder))


def test_gold_tasks_drafts_and_ties_are_not_exported(golden, export_to):
    run, folder = export_to(golden, format="trl")
    texts = {row["chosen"][0]["content"] for row in all_rows(folder)} | {row["rejected"][0]["content"] for row in all_rows(folder)}
    assert not texts & {"Gold right.", "Gold wrong.", "Yes.", "No.", "Lease.", "Buy.", "Mostly."}
    assert run.row_counts["filters"]["judgements"] - run.row_counts["filters"]["not_gold_task"] == 3
    assert run.row_counts["dropped"] == {"near_tie": 1, "tie": 1}


@pytest.mark.parametrize("review_rate, statuses, exported", [
    (0.0, [JudgementStatus.submitted], True),
    (0.0, [JudgementStatus.approved], True),
    (0.0, [JudgementStatus.rejected], False),
    (0.0, [JudgementStatus.returned], False),
    (0.5, [JudgementStatus.submitted], False),
    (0.5, [JudgementStatus.approved], True),
    (0.5, [JudgementStatus.rejected], False),
])
def test_status_filter_takes_only_approved_work_when_the_project_reviews(session, export_to, review_rate, statuses, exported):
    project = make_golden_project(session, review_rate=review_rate)
    expert = make_experts(session)[0]
    task = add_task(session, project, "s-1", [{"role": "user", "content": "Q"}], ("Good", "Bad"))
    judge(session, task, expert, -3, status=statuses[0])
    session.commit()
    run, _ = export_to(project, format="trl")
    assert (run.row_counts["train"] + run.row_counts["test"] == 1) is exported


def test_date_range_is_inclusive_whole_utc_days(session, export_to):
    project = make_golden_project(session)
    experts = make_experts(session)
    days = [dt.datetime(2026, 3, d, 23, 59, tzinfo=dt.timezone.utc) for d in (1, 2, 3)]
    for n, day in enumerate(days):
        task = add_task(session, project, f"d-{n}", [{"role": "user", "content": f"Q{n}"}], (f"Good{n}", f"Bad{n}"))
        judge(session, task, experts[n], -3, submitted_at=day)
    session.commit()
    run, folder = export_to(project, format="trl", since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 2))
    assert pairs(folder) == [("Good1", "Bad1")]
    assert run.row_counts["filters"]["in_date_range"] == 1


@pytest.mark.parametrize("minimum, kept", [(None, {"exp_alpha", "exp_bravo", "exp_charlie"}),
                                           (0.5, {"exp_alpha"}), (0.0, {"exp_alpha", "exp_bravo"}),
                                           (1.0, {"exp_alpha"})])
def test_min_gold_accuracy_keeps_only_experts_accurate_on_gold(session, export_to, minimum, kept):
    project = make_golden_project(session, judgements_per_task=1)
    alpha, bravo, charlie = make_experts(session)  # alpha 2/2 right, bravo 0/1, charlie never judged gold
    gold = [add_task(session, project, f"g-{n}", [{"role": "user", "content": f"G{n}"}], ("R", "W"), is_gold=True,
                     gold_preference=-2) for n in range(2)]
    judge(session, gold[0], alpha, -1)
    judge(session, gold[1], alpha, -3)
    judge(session, gold[0], bravo, 2)
    for expert in (alpha, bravo, charlie):
        task = add_task(session, project, f"t-{expert.pseudonym}", [{"role": "user", "content": expert.pseudonym}],
                        ("Good", "Bad"))
        judge(session, task, expert, -3)
    session.commit()
    _, folder = export_to(project, format="judgements", min_gold_accuracy=minimum)
    assert {row["expert"] for row in all_rows(folder)} == kept


@pytest.mark.parametrize("aggregate, expected", [
    ("mean", [("A", "B")]),                     # mean of (-2, -2, 1) = -1
    ("majority", [("A", "B")]),
    ("each", [("A", "B"), ("A", "B"), ("B", "A")]),
])
def test_aggregation_modes_over_three_judgements(session, export_to, aggregate, expected):
    project = make_golden_project(session, judgements_per_task=3)
    experts = make_experts(session)
    task = add_task(session, project, "a-1", [{"role": "user", "content": "Q"}], ("A", "B"))
    for expert, preference in zip(experts, (-2, -2, 1)):
        judge(session, task, expert, preference)
    session.commit()
    _, folder = export_to(project, format="trl", aggregate=aggregate)
    assert pairs(folder) == sorted(expected)


def test_rankings_expand_to_all_pairs_with_ties_dropped(session, export_to):
    from .scenario import make_ranking_project

    project = make_ranking_project(session)  # ranks [1,2,3,4] and [1,3,2,2]
    session.commit()
    run, folder = export_to(project, format="trl", aggregate="each", test_fraction=0.0)
    assert len(pairs(folder)) == 6 + 5  # the second ranking ties C and D
    assert run.row_counts["dropped"] == {"tie": 1}
    run, folder = export_to(project, format="trl", test_fraction=0.0)
    # mean per pair: A>B, A>C, A>D, B vs C (-1 vs +1) tie, B>D (-2, 0) = -1, C>D (-1, 0) = -0.5
    assert pairs(folder) == sorted([("Memo A", "Memo B"), ("Memo A", "Memo C"), ("Memo A", "Memo D"),
                                    ("Memo B", "Memo D"), ("Memo C", "Memo D")])


def test_with_rewrites_adds_rewrite_over_chosen_and_rejected(golden, export_to):
    _, folder = export_to(golden, format="trl", with_rewrites=True, margin=True, test_fraction=0.0)
    rewrite_rows = [row for row in all_rows(folder) if row["chosen"][0]["content"].startswith("WACC =")]
    assert [(row["rejected"][0]["content"], row["margin"]) for row in rewrite_rows] == [
        ("WACC is about 8%.", 0.333), ("Ask your bank.", 1.0)]


def test_openai_dpo_skips_multi_turn_prompts_and_counts_them(golden, export_to):
    run, folder = export_to(golden, format="openai-dpo")
    assert run.row_counts["dropped"]["multi_turn_prompt"] == 1
    assert all(len(row["input"]["messages"]) == 1 for row in all_rows(folder))
    assert "one-turn prompts only" in (folder / "README.md").read_text()


def test_judgements_rows_are_pseudonymous_and_carry_everything(golden, export_to, session):
    _, folder = export_to(golden, format="judgements", test_fraction=0.0)
    rows = {(row["prompt_id"], row["expert"]): row for row in all_rows(folder)}
    first = rows[("p-wacc", "exp_alpha")]
    assert first["display_order"] == [1, 0] and first["preference"] == -2 and first["confidence"] == 5
    assert first["rewrite_source_position"] == 0 and first["flags"] == ["factual_error"]
    assert first["active_seconds"] == 312 and first["review_verdict"] == "approve" and first["guideline_version"] == 1
    assert [r["rubric_scores"] for r in first["responses"]] == [
        [{"criterion": "accuracy", "score": 4}, {"criterion": "clarity", "score": 3}], [{"criterion": "accuracy", "score": 1}]]
    assert [r["critique"] for r in first["responses"]] == ["Right order of magnitude.", "Evasive."]
    assert [r["model"] for r in first["responses"]] == ["model-a", "model-b"]
    emails = {u.email for u in session.query(factories.User).filter_by(role=Role.expert)}
    text = (folder / "train.jsonl").read_text()
    assert not any(email in text for email in emails) and "Alpha" not in text


# --- text --------------------------------------------------------------------------------------

def test_hostile_text_round_trips_exactly_and_never_splits_a_line(golden, export_to):
    _, folder = export_to(golden, format="trl", test_fraction=0.0, with_rewrites=True)
    raw = (folder / "train.jsonl").read_text("utf-8")
    assert len(raw.splitlines()) == len(all_rows(folder))  # str.splitlines splits on U+2028/9 and U+0085
    rows = [row for row in all_rows(folder) if row["prompt"][0]["content"] == HOSTILE_PROMPT]
    assert rows and rows[0]["chosen"][0]["content"] == HOSTILE_ANSWER
    assert "\u200f" in raw and "\U0001F4C8" in raw and "\\u2028" in raw and "\u2028" not in raw


def test_nul_and_lone_surrogates_in_stored_text_do_not_crash_the_export(session, export_to, is_postgres):
    if is_postgres:
        pytest.skip("PostgreSQL cannot store NUL or lone surrogates at all; input validation rejects both")
    project = make_golden_project(session)
    expert = make_experts(session)[0]
    task = add_task(session, project, "n-1", [{"role": "user", "content": "nul\x00inside"}], ("ok\x00", "fine"))
    judge(session, task, expert, -3, rewrite="x")
    session.commit()
    # A lone surrogate can only reach SQLite through raw SQL; store one the way a broken import might.
    session.execute(factories.Completion.__table__.update().where(factories.Completion.text == "fine")
                    .values(text=sa_text_with_surrogate()))
    session.commit()
    run, folder = export_to(project, format="trl", test_fraction=0.0)
    row = all_rows(folder)[0]
    assert row["prompt"][0]["content"] == "nul\x00inside" and row["chosen"][0]["content"] == "ok\x00"
    assert row["rejected"][0]["content"] == "bad \ufffd\ufffd\ufffd text"  # one U+FFFD per invalid byte
    assert run.row_counts["dropped"]["text_repaired"] == 1


def sa_text_with_surrogate():
    import sqlalchemy as sa

    return sa.func.cast(sa.literal_column("x'62616420eda0802074657874'"), sa.Text)


# --- streaming ---------------------------------------------------------------------------------

def test_stream_gives_the_same_rows_as_the_files(golden, export_to, session):
    _, folder = export_to(golden, format="trl-kto", **GOLDEN_SPLIT)
    streamed = b"".join(open_stream(session, golden, ExportOptions(format="trl-kto", **GOLDEN_SPLIT)))
    files = (folder / "train.jsonl").read_bytes() + (folder / "test.jsonl").read_bytes()
    assert sorted(streamed.splitlines()) == sorted(files.splitlines())
    test_only = b"".join(open_stream(session, golden, ExportOptions(format="trl-kto", **GOLDEN_SPLIT), "test"))
    assert test_only == (folder / "test.jsonl").read_bytes()
