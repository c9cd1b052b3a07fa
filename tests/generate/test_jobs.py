"""Jobs through RQ on the real Redis: the lab page and the API queue them, a worker runs them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rlhf_app.models import Completion, GenerationJob, GenerationJobStatus, Role

from .. import factories
from ..api.test_access import bearer
from .llm_server import Reply

pytestmark = pytest.mark.redis


@pytest.fixture
def app_overrides(allowed, redis_url):
    return {"GENERATION_ALLOWED_HOSTS": allowed, "REDIS_URL": redis_url}


def test_start_queues_a_job_and_shows_its_progress_page(lab_project, session, clean_queue):
    client, user, project = lab_project
    response = client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a", "local-b"], "concurrency": "8"})
    assert response.status_code == 302
    job = session.scalar(select(GenerationJob))
    assert (job.status, job.model_names, job.concurrency, job.origin, job.created_by_id) == (
        GenerationJobStatus.queued, ["local-a", "local-b"], 8, "web", user.id)
    assert job.rq_job_id in clean_queue.job_ids
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-status-url="/api/v1/generation-jobs/{job.id}"' in html
    assert "js/generate.js" in html and "<script>" not in html  # CSP: no inline scripts
    assert "rlhf worker" in html


def test_start_needs_the_csrf_token(lab_project, session, clean_queue):
    client, _, project = lab_project
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    response = client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"]})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(GenerationJob)) == 0


def test_start_rejects_unknown_models_and_bad_concurrency(lab_project, session, clean_queue):
    client, _, project = lab_project
    assert client.post(f"/projects/{project.slug}/generate/", data={"models": ["ghost"]}).status_code == 422
    assert client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"], "concurrency": "99"}).status_code == 422
    assert session.scalar(select(func.count()).select_from(GenerationJob)) == 0


def test_another_workspaces_job_page_is_404(lab_project, login_as, session, clean_queue):
    client, _, project = lab_project
    client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"]})
    job = session.scalar(select(GenerationJob))
    other_project = factories.make_project(session, workspace_id=lab_project[1].workspace_id)
    session.commit()
    assert client.get(f"/projects/{other_project.slug}/generate/jobs/{job.id}").status_code == 404
    other, _ = login_as(Role.lab)
    assert other.get(f"/projects/{project.slug}/generate/jobs/{job.id}").status_code == 404


def test_lab_page_with_redis_offers_the_form(lab_project):
    client, _, project = lab_project
    html = client.get(f"/projects/{project.slug}/generate/").get_data(as_text=True)
    assert 'type="checkbox"' in html and 'value="local-b"' in html and 'name="csrf_token"' in html
    assert "<code>rlhf worker</code>" in html


def _run_worker_burst(app, monkeypatch, queue) -> None:
    from rq import SimpleWorker

    from rlhf_app.generate import jobs

    monkeypatch.setattr(jobs, "WORKER_APP", app)
    worker = SimpleWorker([queue], connection=queue.connection)
    assert worker.work(burst=True) is True


def test_a_worker_runs_the_queued_job_to_the_end(app, lab_project, session, clean_queue, monkeypatch, llm_server):
    client, _, project = lab_project
    llm_server.rule("question 2", Reply(status=404))
    client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"], "concurrency": "4"})
    _run_worker_burst(app, monkeypatch, clean_queue)
    session.rollback()
    job = session.scalar(select(GenerationJob))
    assert (job.status, job.total, job.completed, job.failed) == (GenerationJobStatus.finished, 4, 3, 1)
    assert session.scalar(select(func.count()).select_from(Completion)) == job.completed
    page = client.get(f"/projects/{project.slug}/generate/jobs/{job.id}").get_data(as_text=True)
    assert "Failed requests" in page and "HTTP 404" in page


def test_api_starts_a_job_and_reports_its_progress(app, lab_project, session, clean_queue, monkeypatch):
    _, user, project = lab_project
    headers = bearer(session, user)
    response = app.test_client().post(f"/api/v1/projects/{project.slug}/generation-jobs", json={"models": ["local-b"], "concurrency": 2},
                                      headers=headers)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["status"], body["models"], body["origin"]) == ("queued", ["local-b"], "api")
    assert response.headers["Location"] == f"/api/v1/generation-jobs/{body['id']}"
    _run_worker_burst(app, monkeypatch, clean_queue)
    done = app.test_client().get(response.headers["Location"], headers=headers).get_json()
    assert (done["status"], done["total"], done["completed"], done["failed"], done["is_done"]) == ("finished", 4, 4, 0, True)


def test_api_names_unknown_models(app, lab_project, session, clean_queue):
    _, user, project = lab_project
    response = app.test_client().post(f"/api/v1/projects/{project.slug}/generation-jobs", json={"models": ["ghost"]},
                                      headers=bearer(session, user))
    assert response.status_code == 422 and "unknown model(s) ghost" in response.get_json()["error"]["details"]["fields"]["models"]


def test_redis_unreachable_marks_the_job_failed(app, lab_project, session, clean_queue):
    client, _, project = lab_project
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a"]})
    assert response.status_code == 302
    job = session.scalar(select(GenerationJob))
    assert job.status is GenerationJobStatus.failed and "Redis is unreachable" in job.error


def test_rlhf_worker_burst_runs_the_job_in_a_separate_process(app, lab_project, session, clean_queue, database_url, redis_url, allowed):
    import os
    import subprocess
    import sys
    from pathlib import Path

    client, _, project = lab_project
    client.post(f"/projects/{project.slug}/generate/", data={"models": ["local-a", "local-b"]})
    env = {**os.environ, "RLHF_DATABASE_URL": database_url, "RLHF_REDIS_URL": redis_url,
           "RLHF_GENERATION_ALLOWED_HOSTS": allowed}
    rlhf = Path(sys.executable).with_name("rlhf")
    done = subprocess.run([str(rlhf), "worker", "--burst"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    session.rollback()
    job = session.scalar(select(GenerationJob))
    assert "listening on queue 'generation'" in done.stdout and "Worker stopped" in done.stdout
    assert (job.status, job.completed) == (GenerationJobStatus.finished, 8)
