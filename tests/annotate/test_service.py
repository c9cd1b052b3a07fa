"""Judging one assignment: drafts, submission, idempotency, revisions, active time (services, no app)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from rlhf_app.annotate import service
from rlhf_app.annotate.forms import JudgementInput
from rlhf_app.annotate.validation import NeedsConfirmation
from rlhf_app.common.errors import Conflict, ValidationError
from rlhf_app.models import (
    ActivityInterval, Assignment, AssignmentStatus, AuditEvent, GuidelineVersion, Judgement, JudgementRevision,
    JudgementStatus, Project, Task, TaskKind, TaskStatus,
)

from .. import factories

NOW = factories.NOW
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def expert(session):
    return factories.make_user(session)


@pytest.fixture
def task(session):
    return factories.make_task(session, factories.make_project(session, judgements_per_task=2))


@pytest.fixture
def assignment(session, task, expert):
    """Shown reversed: canonical position 1 is "A"."""
    assignment = factories.make_assignment(session, task, expert, display_order=[1, 0])
    session.commit()
    return assignment


def ids(task) -> tuple[int, int]:
    """(shown as A, shown as B) for the reversed display order."""
    return task.items[1].completion_id, task.items[0].completion_id


def complete(task, **changes) -> JudgementInput:
    a, b = ids(task)
    data = JudgementInput(
        preference=-2, confidence=4, scores={a: {"accuracy": 5}, b: {"accuracy": 2}},
        critiques={a: "Right.", b: "Wrong."}, rewrite="Fixed answer.", rewrite_source_id=a, flags=("factual_error",))
    return replace(data, **changes)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- drafts -------------------------------------------------------------------------------------

def test_no_draft_before_the_first_save(session, assignment):
    assert service.load_draft(session, assignment) is None


def test_partial_draft_is_saved_in_canonical_order(session, task, assignment):
    a, _ = ids(task)
    service.save_draft(session, assignment, JudgementInput(preference=-3, critiques={a: "half a thought"}), now=NOW)
    session.commit()
    draft = service.load_draft(session, assignment)
    assert draft.status is JudgementStatus.draft
    assert draft.preference == 3  # "A much better" where A is canonical position 1
    assert draft.critiques == {str(a): "half a thought"} and draft.guideline_version == 1


def test_saving_again_replaces_the_draft(session, task, assignment):
    a, b = ids(task)
    service.save_draft(session, assignment, JudgementInput(confidence=2, critiques={a: "x"}), now=NOW)
    service.save_draft(session, assignment, JudgementInput(critiques={b: "y"}), now=NOW + SECOND)
    session.commit()
    draft = service.load_draft(session, assignment)
    assert (draft.confidence, draft.critiques, draft.updated_at) == (None, {str(b): "y"}, NOW + SECOND)
    assert count(session, Judgement) == 1
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Judgement")).all() == [
        "judgement.draft_started"]


def test_draft_rejects_out_of_scale_scores_but_not_missing_ones(session, task, assignment):
    a, _ = ids(task)
    with pytest.raises(ValidationError) as caught:
        service.save_draft(session, assignment, JudgementInput(scores={a: {"accuracy": 9}}), now=NOW)
    assert "use 1 to 5" in caught.value.errors[f"score-{a}-accuracy"]


def test_draft_pins_the_guideline_version_shown(session, task, assignment):
    project = session.get(Project, task.project_id)
    session.add(GuidelineVersion(project_id=project.id, version=2, instructions="v2", rubric=factories.RUBRIC,
                                 content_hash="v2"))
    project.guideline_version = 2
    service.save_draft(session, assignment, JudgementInput(confidence=3), now=NOW)
    assert service.load_draft(session, assignment).guideline_version == 2


@pytest.mark.parametrize(("minutes", "expires_after"), [(20, 30), (27, 57), (45, 30)])
def test_draft_renews_a_live_lease_near_its_end(session, assignment, minutes, expires_after):
    service.save_draft(session, assignment, JudgementInput(), now=NOW + dt.timedelta(minutes=minutes))
    assert assignment.lease_expires_at == NOW + dt.timedelta(minutes=expires_after)


def test_skipped_assignment_takes_no_draft(session, assignment):
    assignment.status = AssignmentStatus.skipped
    with pytest.raises(Conflict):
        service.save_draft(session, assignment, JudgementInput(), now=NOW)


def test_ranking_draft_stores_a_rank_per_canonical_position(session, expert):
    task = factories.make_task(session, factories.make_project(session, kind=TaskKind.ranking), answers=3)
    assignment = factories.make_assignment(session, task, expert, display_order=[2, 0, 1])
    c0, c1, c2 = (item.completion_id for item in task.items)
    service.save_draft(session, assignment, JudgementInput(ranking={c2: 1, c0: 2}), now=NOW)
    assert service.load_draft(session, assignment).ranking == [2, None, 1]
    assert service.draft_for(session, assignment)["ranking"] == {str(c0): 2, str(c2): 1}


# --- submitting ---------------------------------------------------------------------------------

def test_submit_stores_everything_and_counts_the_task(session, task, assignment):
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key="key-00000001",
                                         confirmed=False, now=NOW)
    session.commit()
    a, b = ids(task)
    assert judgement.status is JudgementStatus.submitted and judgement.revision == 1
    assert judgement.preference == 2 and judgement.rubric_scores == {str(a): {"accuracy": 5}, str(b): {"accuracy": 2}}
    assert judgement.rewrite_source_id == a and judgement.flags == ["factual_error"] and judgement.submitted_at == NOW
    assert assignment.status is AssignmentStatus.submitted and assignment.submitted_at == NOW
    assert session.get(Task, task.id).submitted_count == 1
    revision = session.scalars(select(JudgementRevision)).one()
    assert revision.data["preference"] == 2 and revision.data["display_order"] == [1, 0]
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "Judgement")) == "judgement.submitted"


def test_submit_turns_the_draft_into_the_judgement(session, task, assignment):
    service.save_draft(session, assignment, JudgementInput(confidence=1), now=NOW)
    service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False, now=NOW)
    assert count(session, Judgement) == 1


def test_incomplete_submit_names_each_field_and_stores_nothing(session, task, assignment):
    a, b = ids(task)
    with pytest.raises(ValidationError) as caught:
        service.submit_judgement(session, assignment, JudgementInput(preference=1, scores={a: {"accuracy": 4}}),
                                 idempotency_key=None, confirmed=False, now=NOW)
    session.rollback()
    assert set(caught.value.errors) == {"confidence", f"score-{b}-accuracy", f"critique-{a}", f"critique-{b}",
                                        "rewrite", "rewrite_source_id"}
    assert "(1 to 5)" in caught.value.errors[f"score-{b}-accuracy"]
    assert count(session, Judgement) == 0


def test_contradiction_needs_confirmation(session, task, assignment):
    a, b = ids(task)
    data = complete(task, scores={a: {"accuracy": 1}, b: {"accuracy": 5}})
    with pytest.raises(NeedsConfirmation) as caught:
        service.submit_judgement(session, assignment, data, idempotency_key=None, confirmed=False, now=NOW)
    assert caught.value.code == "needs_confirmation" and caught.value.status == 422
    assert "scored answer B higher" in caught.value.warnings["preference"]
    session.rollback()
    judgement = service.submit_judgement(session, assignment, data, idempotency_key=None, confirmed=True, now=NOW)
    assert judgement.status is JudgementStatus.submitted


def test_rewrite_identical_to_source_needs_confirmation(session, task, assignment):
    a, _ = ids(task)
    source_text = next(item.completion.text for item in task.items if item.completion_id == a)
    with pytest.raises(NeedsConfirmation) as caught:
        service.submit_judgement(session, assignment, complete(task, rewrite=source_text), idempotency_key=None,
                                 confirmed=False, now=NOW)
    assert "identical to answer A" in caught.value.warnings["rewrite"]


def test_same_idempotency_key_returns_the_same_judgement(session, task, assignment):
    first = service.submit_judgement(session, assignment, complete(task), idempotency_key="same-key-1",
                                     confirmed=False, now=NOW)
    session.commit()
    again = service.submit_judgement(session, assignment, complete(task, confidence=1), idempotency_key="same-key-1",
                                     confirmed=False, now=NOW + SECOND)
    session.commit()
    assert again.id == first.id and again.revision == 1 and again.confidence == 4
    assert count(session, JudgementRevision) == 1 and session.get(Task, task.id).submitted_count == 1


def test_second_submit_with_a_new_key_is_a_conflict(session, task, assignment):
    service.submit_judgement(session, assignment, complete(task), idempotency_key="first-key-1", confirmed=False, now=NOW)
    with pytest.raises(Conflict):
        service.submit_judgement(session, assignment, complete(task), idempotency_key="other-key-2", confirmed=False, now=NOW)


def test_idempotency_key_of_another_assignment_is_a_conflict(session, task, assignment):
    service.submit_judgement(session, assignment, complete(task), idempotency_key="shared-key", confirmed=False, now=NOW)
    other_task = factories.make_task(session, factories.make_project(session))
    other = factories.make_assignment(session, other_task, factories.make_user(session))
    with pytest.raises(Conflict):
        service.submit_judgement(session, other, complete(other_task, scores={}, critiques={}, rewrite_source_id=None),
                                 idempotency_key="shared-key", confirmed=False, now=NOW)


def test_returned_judgement_can_be_fixed_and_resubmitted(session, task, assignment):
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key="k-first-1",
                                         confirmed=False, now=NOW)
    judgement.status = JudgementStatus.returned  # what a reviewer's "send back" does
    session.commit()
    service.save_draft(session, assignment, complete(task, confidence=2), now=NOW + SECOND)
    assert service.load_draft(session, assignment).status is JudgementStatus.returned
    fixed = service.submit_judgement(session, assignment, complete(task, confidence=5), idempotency_key="k-second-2",
                                     confirmed=False, now=NOW + 2 * SECOND)
    session.commit()
    assert (fixed.id, fixed.status, fixed.revision, fixed.confidence) == (judgement.id, JudgementStatus.submitted, 2, 5)
    revisions = session.scalars(select(JudgementRevision).order_by(JudgementRevision.revision)).all()
    assert [r.data["confidence"] for r in revisions] == [4, 5]
    assert assignment.submitted_at == NOW and session.get(Task, task.id).submitted_count == 1
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "judgement.resubmitted")) == 1


@pytest.mark.parametrize("status", [JudgementStatus.submitted, JudgementStatus.approved, JudgementStatus.rejected])
def test_judgement_under_review_cannot_change(session, task, assignment, status):
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False, now=NOW)
    judgement.status = status
    with pytest.raises(Conflict):
        service.save_draft(session, assignment, JudgementInput(), now=NOW)


def test_task_completes_when_overlap_is_reached(session, task, assignment):
    service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False, now=NOW)
    other = factories.make_assignment(session, task, factories.make_user(session), display_order=[1, 0])
    service.submit_judgement(session, other, complete(task), idempotency_key=None, confirmed=False, now=NOW)
    session.commit()
    refreshed = session.get(Task, task.id)
    assert (refreshed.submitted_count, refreshed.status) == (2, TaskStatus.complete)


def test_late_submission_after_lease_expiry_is_kept(session, task, assignment):
    late = NOW + dt.timedelta(hours=2)
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False, now=late)
    assert judgement.submitted_at == late


# --- active time --------------------------------------------------------------------------------

def beat(session, assignment, seconds: float, **kwargs) -> int:
    return service.record_heartbeat(session, assignment, now=NOW + seconds * SECOND, **kwargs)


def test_heartbeats_count_time_between_them(session, assignment):
    assert [beat(session, assignment, t) for t in (0, 30, 60, 90)] == [0, 30, 60, 90]
    assert count(session, ActivityInterval) == 1


def test_idle_over_two_minutes_stops_the_clock(session, assignment):
    assert [beat(session, assignment, t) for t in (0, 30, 151, 180, 300)] == [0, 30, 30, 59, 179]
    assert count(session, ActivityInterval) == 2


def test_two_tabs_on_one_assignment_count_each_second_once(session, assignment):
    times = [0, 0, 15, 15, 30, 31, 45, 44]  # two tabs beating nearly together, one slightly out of order
    for t in times:
        beat(session, assignment, t)
    assert assignment.active_seconds == 45


def test_two_tabs_on_two_assignments_share_the_wall_clock(session, expert, assignment):
    other = factories.make_assignment(session, factories.make_task(session, factories.make_project(session)), expert)
    for t in range(0, 301, 15):  # tabs alternate every 15 s, each beating every 30 s
        beat(session, assignment if t % 30 == 0 else other, t)
    session.commit()
    assert assignment.active_seconds + other.active_seconds == 300
    intervals = session.scalars(select(ActivityInterval).order_by(ActivityInterval.started_at)).all()
    assert all(a.ended_at <= b.started_at for a, b in zip(intervals, intervals[1:]))  # never overlapping


def test_experts_clocks_are_independent(session, task, assignment):
    other = factories.make_assignment(session, task, factories.make_user(session))
    for t in (0, 30):
        beat(session, assignment, t)
        beat(session, other, t)
    assert (assignment.active_seconds, other.active_seconds) == (30, 30)


def test_unfocused_heartbeat_counts_nothing(session, assignment):
    beat(session, assignment, 0)
    assert beat(session, assignment, 30, focused=False) == 0


@pytest.mark.parametrize("status", [AssignmentStatus.skipped, AssignmentStatus.submitted])
def test_closed_assignments_count_no_time(session, assignment, status):
    assignment.status = status
    assert [beat(session, assignment, t) for t in (0, 30)] == [0, 0]
    assert count(session, ActivityInterval) == 0


def test_returned_judgement_counts_rework_time(session, task, assignment):
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False, now=NOW)
    judgement.status = JudgementStatus.returned
    assert [beat(session, assignment, t) for t in (600, 630)] == [0, 30]


def test_heartbeat_renews_a_live_lease_near_its_end_only(session, assignment):
    beat(session, assignment, 600)
    assert assignment.lease_expires_at == NOW + dt.timedelta(minutes=30)  # 20 minutes left: untouched
    beat(session, assignment, 27 * 60)
    assert assignment.lease_expires_at == NOW + dt.timedelta(minutes=57)
    beat(session, assignment, 3 * 3600)
    assert assignment.lease_expires_at == NOW + dt.timedelta(minutes=57)  # expired: not revived


def test_submission_records_the_active_seconds(session, task, assignment):
    beat(session, assignment, 0)
    beat(session, assignment, 42)
    judgement = service.submit_judgement(session, assignment, complete(task), idempotency_key=None, confirmed=False,
                                         now=NOW + 50 * SECOND)
    assert judgement.active_seconds == 42


# --- the expert's figures -----------------------------------------------------------------------

def test_expert_figures(session, expert):
    project = factories.make_project(session)
    monday = dt.datetime(2026, 11, 2, 8, tzinfo=dt.timezone.utc)  # NOW is Monday 2 November 09:00
    for when in (monday - dt.timedelta(days=1), monday, NOW):
        assignment = factories.make_assignment(session, factories.make_task(session, project), expert,
                                               status=AssignmentStatus.submitted, submitted_at=when)
    judgement = factories.make_judgement(session, assignment, status=JudgementStatus.returned)
    session.add(ActivityInterval(expert_id=expert.id, assignment_id=assignment.id, started_at=monday,
                                 ended_at=monday + dt.timedelta(minutes=90), seconds=5400))
    figures = service.expert_figures(session, expert, now=NOW + dt.timedelta(days=2))
    assert figures == {"Tasks done today": "0", "Tasks done this week": "2", "Active hours this week": "1.5",
                       "Returned judgements to fix": "1"}
    assert service.expert_figures(session, expert, now=NOW)["Tasks done today"] == "2"
    assert [j.id for j in service.list_returned(session, expert)] == [judgement.id]


def test_list_returned_shows_only_own_returned(session, expert, task):
    mine = factories.make_judgement(session, factories.make_assignment(session, task, expert), status=JudgementStatus.submitted)
    factories.make_judgement(session, status=JudgementStatus.returned)  # someone else's
    assert service.list_returned(session, expert) == []
    mine.status = JudgementStatus.returned
    assert service.list_returned(session, expert) == [mine]


def test_describe_assignment_never_names_models(session, task, assignment):
    page = service.describe_assignment(session, assignment)
    a, b = ids(task)
    assert [(x["label"], x["completion_id"]) for x in page["answers"]] == [("A", a), ("B", b)]
    assert "model-" not in repr(page) and page["draft"] is None
    assert page["rubric"]["criteria"][0]["key"] == "accuracy"
    assert count(session, Assignment) == 1
