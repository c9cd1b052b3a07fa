"""Who may do what: pure predicates over users and objects (no Flask, no queries)."""
from __future__ import annotations

from ..models import Project, Role, User


def is_admin(user: User) -> bool:
    return user.role is Role.admin


def has_role(user: User, *roles: Role) -> bool:
    return user.is_active and (user.role in roles or user.role is Role.admin)


def can_view_project(user: User, project: Project) -> bool:
    """Admins see every project; lab users only their workspace's; reviewers all they review."""
    if not user.is_active:
        return False
    if user.role in (Role.admin, Role.reviewer):
        return True
    if user.role is Role.lab:
        return user.workspace_id is not None and user.workspace_id == project.workspace_id
    return False


def can_manage_project(user: User, project: Project) -> bool:
    """Create, import, generate and export: admins, and lab users of the owning workspace."""
    if not user.is_active:
        return False
    if user.role is Role.admin:
        return True
    return user.role is Role.lab and user.workspace_id == project.workspace_id


def can_judge(user: User, project: Project) -> bool:
    """Experts judge active projects in one of their domains."""
    return user.is_active and user.role is Role.expert and project.is_active and user.has_domain(project.domain)


def can_own_assignment(user: User, expert_id: int) -> bool:
    return user.is_active and user.id == expert_id


def can_review(user: User, expert_id: int) -> bool:
    """Reviewers (and admins) review others' work, never their own."""
    return has_role(user, Role.reviewer) and user.id != expert_id
