"""Permission predicates are pure: a table of users and objects."""
from __future__ import annotations

import pytest

from rlhf_app.common.permissions import can_judge, can_manage_project, can_review, can_view_project
from rlhf_app.models import Project, ProjectStatus, Role, User


def user(role: Role, *, uid: int = 1, workspace_id: int | None = None, domains=("finance",), active=True) -> User:
    return User(id=uid, role=role, workspace_id=workspace_id, domains=list(domains), is_active=active)


PROJECT = Project(id=9, workspace_id=5, domain="finance", status=ProjectStatus.active)


@pytest.mark.parametrize("who,expected", [
    (user(Role.lab, workspace_id=5), True),
    (user(Role.lab, workspace_id=6), False),
    (user(Role.lab, workspace_id=None), False),
    (user(Role.admin), True),
    (user(Role.reviewer), True),
    (user(Role.expert), False),
    (user(Role.lab, workspace_id=5, active=False), False),
])
def test_can_view_project(who, expected):
    assert can_view_project(who, PROJECT) is expected


@pytest.mark.parametrize("who,expected", [
    (user(Role.lab, workspace_id=5), True), (user(Role.lab, workspace_id=6), False),
    (user(Role.reviewer), False), (user(Role.admin), True),
])
def test_can_manage_project(who, expected):
    assert can_manage_project(who, PROJECT) is expected


@pytest.mark.parametrize("who,expected", [
    (user(Role.expert), True), (user(Role.expert, domains=("strategy",)), False),
    (user(Role.reviewer), False), (user(Role.expert, active=False), False),
])
def test_can_judge(who, expected):
    assert can_judge(who, PROJECT) is expected


def test_reviewers_never_review_their_own_work():
    reviewer = user(Role.reviewer, uid=3)
    assert can_review(reviewer, expert_id=4) is True
    assert can_review(reviewer, expert_id=3) is False
    assert can_review(user(Role.expert, uid=4), expert_id=5) is False
