"""The generation API: bulk import, jobs without a queue, workspace scoping, the OpenAPI document."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from rlhf_app.models import Completion, GenerationJob, Role

from .. import factories
from ..api.test_access import bearer


@pytest.fixture
def api(app, lab_project, session):
    """(client, headers, project) for the lab user's bearer token."""
    _, user, project = lab_project
    return app.test_client(), bearer(session, user), project


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_import_accepts_jsonl(api, session):
    client, headers, project = api
    body = "\n".join(json.dumps({"prompt_id": f"q{i}", "model": "ext", "text": f"t{i}"}) for i in range(4))
    response = client.post(f"/api/v1/projects/{project.slug}/completions", data=body,
                           headers={**headers, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"project": project.slug, "added": 4, "unchanged": 0}
    assert count(session, Completion) == 4


def test_import_accepts_a_json_array_and_is_idempotent(api, session):
    client, headers, project = api
    rows = [{"prompt_id": "q0", "model": "ext", "text": "t0", "generation": {"endpoint": "elsewhere"}}]
    client.post(f"/api/v1/projects/{project.slug}/completions", json=rows, headers=headers)
    again = client.post(f"/api/v1/projects/{project.slug}/completions", json=rows, headers=headers)
    assert again.get_json()["unchanged"] == 1 and count(session, Completion) == 1


def test_import_errors_are_422_per_line_and_nothing_is_stored(api, session):
    client, headers, project = api
    body = "\n".join([json.dumps({"prompt_id": "q0", "model": "ext", "text": "fine"}), "{oops",
                      json.dumps({"prompt_id": "q1", "model": "ext", "text": ""}),
                      json.dumps({"prompt_id": "nope", "model": "ext", "text": "x"})])
    response = client.post(f"/api/v1/projects/{project.slug}/completions", data=body, headers={**headers, "Content-Type": "text/plain"})
    assert response.status_code == 422
    errors = response.get_json()["error"]["details"]["errors"]
    assert errors[0].startswith("line 2: not valid JSON") and errors[1] == "line 3: 'text' must not be empty"
    assert count(session, Completion) == 0
    unknown = client.post(f"/api/v1/projects/{project.slug}/completions", json=[{"prompt_id": "nope", "model": "e", "text": "x"}], headers=headers)
    assert unknown.status_code == 422 and "'nope' is not a prompt of" in unknown.get_json()["error"]["details"]["errors"][0]


def test_import_rejects_a_json_body_that_is_not_an_array(api):
    client, headers, project = api
    response = client.post(f"/api/v1/projects/{project.slug}/completions", json={"prompt_id": "q0"}, headers=headers)
    assert response.status_code == 422 and "array" in response.get_json()["error"]["details"]["errors"][0]


def test_another_workspaces_lab_gets_404_everywhere(app, api, session):
    client, _, project = api
    other = bearer(session, factories.make_user(session, role=Role.lab))
    job = GenerationJob(project_id=project.id, model_names=["local-a"], concurrency=1)
    session.add(job)
    session.commit()
    assert client.post(f"/api/v1/projects/{project.slug}/completions", json=[], headers=other).status_code == 404
    assert client.post(f"/api/v1/projects/{project.slug}/generation-jobs", json={"models": ["local-a"]}, headers=other).status_code == 404
    assert client.get(f"/api/v1/generation-jobs/{job.id}", headers=other).status_code == 404
    assert client.get("/api/v1/generation-jobs/999999", headers=other).status_code == 404


def test_reviewers_and_experts_get_403(api, session):
    client, _, project = api
    for role in (Role.reviewer, Role.expert):
        headers = bearer(session, factories.make_user(session, role=role))
        assert client.post(f"/api/v1/projects/{project.slug}/completions", json=[], headers=headers).status_code == 403


def test_starting_a_job_without_a_queue_answers_409_with_the_command(api, session):
    client, headers, project = api
    response = client.post(f"/api/v1/projects/{project.slug}/generation-jobs", json={"models": ["local-a"]}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["command"] == f"rlhf generate --project {project.slug} --model local-a"
    assert count(session, GenerationJob) == 0


def test_job_status_is_readable_by_its_lab(api, session):
    client, headers, project = api
    job = GenerationJob(project_id=project.id, model_names=["local-a"], concurrency=3, total=4, completed=1)
    session.add(job)
    session.commit()
    body = client.get(f"/api/v1/generation-jobs/{job.id}", headers=headers).get_json()
    assert (body["status"], body["total"], body["completed"], body["concurrency"], body["failures"]) == ("queued", 4, 1, 3, [])


def test_cookie_calls_need_csrf_but_bearer_calls_do_not(lab_project):
    client, _, project = lab_project
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert client.post(f"/api/v1/projects/{project.slug}/completions", json=[]).status_code == 400


def test_openapi_documents_the_generation_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/projects/{slug}/completions"] and "post" in paths["/projects/{slug}/generation-jobs"]
    assert "get" in paths["/generation-jobs/{job_id}"]


def test_a_stalled_job_says_so(api, session):
    import datetime as dt

    from rlhf_app.common.clock import utcnow
    from rlhf_app.models import GenerationJobStatus

    client, headers, project = api
    quiet = utcnow() - dt.timedelta(minutes=3)
    job = GenerationJob(project_id=project.id, model_names=["local-a"], status=GenerationJobStatus.running, updated_at=quiet)
    session.add(job)
    session.commit()
    body = client.get(f"/api/v1/generation-jobs/{job.id}", headers=headers).get_json()
    assert body["status"] == "running" and "start generation again" in body["stalled"]
