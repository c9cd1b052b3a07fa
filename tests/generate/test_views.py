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


def test_the_job_page_names_a_stalled_run_and_counts_its_failures(lab_project, session):
    import datetime as dt

    from rlhf_app.common.clock import utcnow
    from rlhf_app.models import GenerationFailure, GenerationJob, GenerationJobStatus, Prompt

    client, _, project = lab_project
    quiet = utcnow() - dt.timedelta(minutes=10)
    job = GenerationJob(project_id=project.id, model_names=["local-a"], status=GenerationJobStatus.running, total=4,
                        failed=2, updated_at=quiet)
    session.add(job)
    session.flush()
    for prompt in session.query(Prompt).filter_by(project_id=project.id).order_by(Prompt.id).limit(2):
        session.add(GenerationFailure(job_id=job.id, prompt_id=prompt.id, model_name="local-a", error="HTTP 500: <b>x</b>", attempts=3))
    session.commit()
    html = client.get(f"/projects/{project.slug}/generate/jobs/{job.id}").get_data(as_text=True)
    assert "No sign of life from this run since" in html and "start generation again to do the rest" in html
    assert html.count("HTTP 500: &lt;b&gt;x&lt;/b&gt;") == 2
