"""The task queue: resuming, leases, overlap, gold mixing, domains and skips (services, no app)."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from rlhf_app.common.errors import Conflict, NotFound, ValidationError
from rlhf_app.models import (
    Assignment, AssignmentStatus, AuditEvent, JudgementStatus, ProjectStatus, Role, TaskKind, TaskStatus,
)
from rlhf_app.tasks.service import claim_next, get_own_assignment, refresh_task_progress, skip_assignment

from .. import factories

NOW = factories.NOW
MINUTE = dt.timedelta(minutes=1)


def claim(session, expert, now=NOW, **kwargs):
    assignment = claim_next(session, expert, now=now, rng=kwargs.pop("rng", random.Random(7)), **kwargs)
    session.commit()
    return assignment


def submit(session, assignment, now=NOW):
    """Mark an assignment submitted with a counted judgement (what submit_judgement does)."""
    factories.make_judgement(session, assignment, status=JudgementStatus.submitted)
    assignment.status = AssignmentStatus.submitted
    assignment.submitted_at = now
    refresh_task_progress(session, assignment.task_id)
    session.commit()


@pytest.fixture
def project(session):
    return factories.make_project(session, judgements_per_task=2, lease_minutes=30)


def test_claim_creates_a_lease_with_a_stored_display_order(session, project):
    task = factories.make_task(session, project)
    expert = factories.make_user(session)
    assignment = claim(session, expert)
    assert assignment.task_id == task.id and assignment.status is AssignmentStatus.active
    assert sorted(assignment.display_order) == [0, 1]
    assert assignment.lease_expires_at == NOW + 30 * MINUTE
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == str(assignment.id))) == "assignment.claimed"


def test_display_order_is_random_per_assignment(session):
    project = factories.make_project(session, kind=TaskKind.ranking, judgements_per_task=10)
    factories.make_task(session, project, answers=5)
    orders = {tuple(claim(session, factories.make_user(session), rng=random.Random(seed)).display_order)
              for seed in range(10)}
    assert len(orders) > 1 and all(sorted(order) == [0, 1, 2, 3, 4] for order in orders)


def test_claim_resumes_the_open_assignment(session, project):
    factories.make_task(session, project)
    factories.make_task(session, project)
    expert = factories.make_user(session)
    first = claim(session, expert)
    again = claim(session, expert, now=NOW + 10 * MINUTE)
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_claim_takes_the_oldest_least_covered_task(session, project):
    older, newer = factories.make_task(session, project), factories.make_task(session, project)
    submit(session, factories.make_assignment(session, older, factories.make_user(session)))
    first = claim(session, factories.make_user(session))
    assert first.task_id == newer.id  # fewest submitted judgements wins
    submit(session, first)
    assert claim(session, factories.make_user(session)).task_id == older.id  # equal coverage: the oldest


def test_overlap_is_respected_counting_submitted_and_leased(session, project):
    task = factories.make_task(session, project)  # overlap 2
    first, second, third = (factories.make_user(session) for _ in range(3))
    submit(session, claim(session, first))
    assert claim(session, second).task_id == task.id
    assert claim(session, third) is None  # one submitted + one live lease fill both slots


def test_expired_lease_frees_the_slot(session, project):
    project.judgements_per_task = 1
    task = factories.make_task(session, project)
    holder, other = factories.make_user(session), factories.make_user(session)
    claim(session, holder)
    assert claim(session, other, now=NOW + 29 * MINUTE) is None
    taken = claim(session, other, now=NOW + 31 * MINUTE)
    assert taken is not None and taken.task_id == task.id


def test_own_expired_assignment_is_renewed_not_duplicated(session, project):
    task = factories.make_task(session, project)
    factories.make_task(session, project)
    expert = factories.make_user(session)
    first = claim(session, expert)
    later = NOW + 45 * MINUTE
    renewed = claim(session, expert, now=later)
    assert renewed.id == first.id and renewed.task_id == task.id
    assert renewed.lease_expires_at == later + 30 * MINUTE and renewed.claimed_at == later
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_own_expired_assignment_is_not_renewed_when_its_slot_was_taken(session, project):
    project.judgements_per_task = 1
    first_task, second_task = factories.make_task(session, project), factories.make_task(session, project)
    expert, other = factories.make_user(session), factories.make_user(session)
    mine = claim(session, expert)
    assert claim(session, other, now=NOW + 31 * MINUTE).task_id == first_task.id  # the freed slot
    moved_on = claim(session, expert, now=NOW + 32 * MINUTE)
    assert moved_on.task_id == second_task.id
    assert session.get(Assignment, mine.id).lease_expires_at == NOW + 30 * MINUTE  # not renewed


def test_expert_never_gets_a_task_twice(session, project):
    factories.make_task(session, project)
    expert = factories.make_user(session)
    submit(session, claim(session, expert))
    assert claim(session, expert) is None


def test_skipped_task_is_not_offered_again(session, project):
    factories.make_task(session, project)
    expert = factories.make_user(session)
    skip_assignment(session, claim(session, expert), reason="bad_prompt", note="typo", now=NOW)
    session.commit()
    assert claim(session, expert) is None


def test_complete_tasks_are_not_offered(session, project):
    factories.make_task(session, project, status=TaskStatus.complete, submitted_count=2)
    assert claim(session, factories.make_user(session)) is None


@pytest.mark.parametrize("status", [ProjectStatus.draft, ProjectStatus.paused, ProjectStatus.closed])
def test_only_active_projects_hand_out_tasks(session, project, status):
    factories.make_task(session, project)
    project.status = status
    expert = factories.make_user(session)
    assert claim(session, expert) is None
    assert claim(session, expert, project_slug=project.slug) is None


def test_only_projects_in_the_experts_domains(session, project):
    factories.make_task(session, project)  # finance
    outsider = factories.make_user(session, domains=["medicine"])
    assert claim(session, outsider) is None
    with pytest.raises(NotFound):
        claim(session, outsider, project_slug=project.slug)


def test_unknown_project_slug_is_not_found(session, project):
    with pytest.raises(NotFound):
        claim(session, factories.make_user(session), project_slug="no-such-project")


def test_project_slug_limits_the_claim(session, project):
    other = factories.make_project(session)
    factories.make_task(session, project)
    wanted = factories.make_task(session, other)
    expert = factories.make_user(session)
    assert claim(session, expert, project_slug=other.slug).task_id == wanted.id


def test_resume_stays_within_the_requested_project(session, project):
    other = factories.make_project(session)
    factories.make_task(session, project)
    wanted = factories.make_task(session, other)
    expert = factories.make_user(session)
    claim(session, expert, project_slug=project.slug)
    assert claim(session, expert, project_slug=other.slug).task_id == wanted.id


def test_gold_tasks_are_mixed_in_at_roughly_the_gold_rate(session):
    project = factories.make_project(session, judgements_per_task=1, gold_rate=0.25)
    for i in range(400):
        factories.make_task(session, project, is_gold=i % 2 == 0, gold_preference=-2 if i % 2 == 0 else None)
    expert = factories.make_user(session)
    rng = random.Random(2026)
    gold = 0
    for _ in range(200):
        assignment = claim_next(session, expert, now=NOW, rng=rng)
        gold += assignment.task.is_gold
        assignment.status = AssignmentStatus.submitted  # move on without judging
    session.commit()
    assert 0.17 <= gold / 200 <= 0.33


def test_gold_pool_falls_back_when_the_wanted_pool_is_empty(session):
    project = factories.make_project(session, judgements_per_task=1, gold_rate=0.0)
    gold = factories.make_task(session, project, is_gold=True, gold_preference=2)
    assert claim(session, factories.make_user(session)).task_id == gold.id


def test_get_own_assignment_hides_other_experts_work(session, project):
    task = factories.make_task(session, project)
    owner, other = factories.make_user(session), factories.make_user(session)
    assignment = factories.make_assignment(session, task, owner)
    assert get_own_assignment(session, assignment.id, owner) is assignment
    for expert, assignment_id in ((other, assignment.id), (owner, 999_999)):
        with pytest.raises(NotFound):
            get_own_assignment(session, assignment_id, expert)


def test_skip_is_a_status_with_reason_and_note(session, project):
    task = factories.make_task(session, project)
    expert = factories.make_user(session)
    assignment = factories.make_assignment(session, task, expert)
    skip_assignment(session, assignment, reason="outside_expertise", note="Tax law, not mine.", now=NOW)
    session.commit()
    row = session.get(Assignment, assignment.id)
    assert (row.status, row.skip_reason, row.skip_note) == (AssignmentStatus.skipped, "outside_expertise", "Tax law, not mine.")
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "assignment.skipped")) is not None


def test_skip_frees_the_slot_for_others(session, project):
    project.judgements_per_task = 1
    factories.make_task(session, project)
    skipper, other = factories.make_user(session), factories.make_user(session)
    skip_assignment(session, claim(session, skipper), reason="other", note=None, now=NOW)
    session.commit()
    assert claim(session, other) is not None


@pytest.mark.parametrize(("reason", "note", "field"), [
    ("boring", None, "reason"), ("", None, "reason"), ("other", "x" * 2001, "note"), ("other", "nul\x00", "note"),
])
def test_skip_rejects_unknown_reasons_and_bad_notes(session, project, reason, note, field):
    assignment = factories.make_assignment(session, factories.make_task(session, project), factories.make_user(session))
    with pytest.raises(ValidationError) as caught:
        skip_assignment(session, assignment, reason=reason, note=note, now=NOW)
    assert field in caught.value.errors


def test_skipping_twice_is_harmless_and_submitted_cannot_be_skipped(session, project):
    expert = factories.make_user(session)
    skipped = factories.make_assignment(session, factories.make_task(session, project), expert)
    skip_assignment(session, skipped, reason="other", note=None, now=NOW)
    assert skip_assignment(session, skipped, reason="bad_prompt", note=None, now=NOW).skip_reason == "other"
    done = factories.make_assignment(session, factories.make_task(session, project), expert, status=AssignmentStatus.submitted)
    with pytest.raises(Conflict):
        skip_assignment(session, done, reason="other", note=None, now=NOW)


@pytest.mark.parametrize(("statuses", "count", "status"), [
    ([], 0, TaskStatus.open),
    ([JudgementStatus.draft], 0, TaskStatus.open),
    ([JudgementStatus.submitted], 1, TaskStatus.open),
    ([JudgementStatus.submitted, JudgementStatus.approved], 2, TaskStatus.complete),
    ([JudgementStatus.returned, JudgementStatus.submitted], 2, TaskStatus.complete),
    ([JudgementStatus.rejected, JudgementStatus.submitted], 1, TaskStatus.open),
])
def test_task_progress_is_derived_from_counted_judgements(session, project, statuses, count, status):
    task = factories.make_task(session, project)  # overlap 2
    for judgement_status in statuses:
        assignment = factories.make_assignment(session, task, factories.make_user(session))
        factories.make_judgement(session, assignment, status=judgement_status)
    refreshed = refresh_task_progress(session, task.id)
    assert (refreshed.submitted_count, refreshed.status) == (count, status)


def test_users_without_domains_get_nothing(session, project):
    factories.make_task(session, project)
    lab = factories.make_user(session, role=Role.lab)  # no domains
    assert claim(session, lab) is None


def test_without_a_slug_the_least_covered_task_of_any_project_comes_first(session, project):
    other = factories.make_project(session, domain="strategy")
    covered = factories.make_task(session, project)
    fresh = factories.make_task(session, other)
    submit(session, factories.make_assignment(session, covered, factories.make_user(session)))
    assert claim(session, factories.make_user(session)).task_id == fresh.id
