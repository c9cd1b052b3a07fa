"""The lab page: who may see it, the form (CSRF), queued jobs and the page without Redis."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rlhf_app.models import GenerationJob, Role

from .. import factories


def test_lab_page_without_redis_shows_the_cli_command(lab_project):
    client, _, project = lab_project
    response = client.get(f"/projects/{project.slug}/generate/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"rlhf generate --project {project.slug} --model local-a --model local-b" in html
    assert "<form method=\"post\" action=\"/projects/" not in html and "local-a-id" in html


@pytest.mark.parametrize("role", [Role.expert, Role.reviewer])
def test_other_roles_get_403(login_as, session, role):
    project = factories.make_project(session)
    session.commit()
    client, _ = login_as(role)
    assert client.get(f"/projects/{project.slug}/generate/").status_code == 403


def test_another_workspaces_lab_gets_404(lab_project, login_as, session):
    _, _, project = lab_project
    other, _ = login_as(Role.lab)
    assert other.get(f"/projects/{project.slug}/generate/").status_code == 404
    assert other.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"]}).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, session):
    project = factories.make_project(session)
    session.commit()
    response = client.get(f"/projects/{project.slug}/generate/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_starting_without_redis_is_refused(lab_project, session):
    client, _, project = lab_project
    response = client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"], "concurrency": "8"})
    assert response.status_code == 409
    assert session.scalar(select(func.count()).select_from(GenerationJob)) == 0


def test_the_project_page_links_labs_to_generation(lab_project, login_as, session):
    client, _, project = lab_project
    assert f'href="/projects/{project.slug}/generate/"' in client.get(f"/projects/{project.slug}").get_data(as_text=True)
    reviewer, _ = login_as(Role.reviewer)
    assert "/generate/" not in reviewer.get(f"/projects/{project.slug}").get_data(as_text=True)
