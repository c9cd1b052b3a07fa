"""The expert API over HTTP: status, JSON, and the database row afterwards."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rlhf_app.auth.tokens import create_token
from rlhf_app.models import (
    ActivityInterval, Assignment, AssignmentStatus, Judgement, JudgementRevision, JudgementStatus, Role, Task, TaskKind,
)

from .. import factories


def fresh(session) -> None:
    """Forget what the test session read, so the next query sees what the app committed."""
    session.rollback()
    session.expire_all()


def count(session, model) -> int:
    fresh(session)
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def expert(session):
    return factories.make_user(session)


@pytest.fixture
def headers(session, expert) -> dict[str, str]:
    _, secret = create_token(session, expert, "test")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def project(session):
    project = factories.make_project(session, judgements_per_task=1)
    session.commit()
    return project


@pytest.fixture
def task(session, project):
    task = factories.make_task(session, project)
    session.commit()
    return task


def claim(client, headers, **params) -> dict:
    response = client.get("/api/v1/tasks/next", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def complete_body(page: dict, **changes) -> dict:
    a, b = (answer["completion_id"] for answer in page["answers"])
    body = {"preference": -1, "confidence": 4, "scores": {str(a): {"accuracy": 4}, str(b): {"accuracy": 3}},
            "critiques": {str(a): "Good.", str(b): "Weaker."}, "rewrite": "A rewritten answer.",
            "rewrite_source_id": a, "flags": ["factual_error"]}
    return {**body, **changes}


# --- claiming -----------------------------------------------------------------------------------

def test_next_claims_a_task_and_describes_it_without_model_names(client, session, headers, expert, task):
    page = claim(client, headers)
    assert [a["label"] for a in page["answers"]] == ["A", "B"]
    assert {a["completion_id"] for a in page["answers"]} == {item.completion_id for item in task.items}
    assert page["rubric"]["criteria"][0]["key"] == "accuracy" and page["instructions"] == "Judge **carefully**."
    assert page["prompt"]["messages"][0]["role"] == "user" and page["draft"] is None
    assert "model_name" not in str(page) and "model-" not in str(page) and "is_gold" not in str(page)
    fresh(session)
    row = session.get(Assignment, page["assignment"]["id"])
    assert (row.expert_id, row.task_id, row.status) == (expert.id, task.id, AssignmentStatus.active)
    shown = [task.items[p].completion_id for p in row.display_order]
    assert shown == [a["completion_id"] for a in page["answers"]]


def test_next_resumes_the_same_assignment(client, session, headers, project, task):
    factories.make_task(session, project)
    session.commit()
    first = claim(client, headers)
    assert claim(client, headers)["assignment"]["id"] == first["assignment"]["id"]
    assert count(session, Assignment) == 1


def test_next_answers_204_when_nothing_is_left(client, headers, project):
    response = client.get("/api/v1/tasks/next", headers=headers)
    assert response.status_code == 204 and response.get_data() == b""


def test_next_for_an_unknown_project_is_404(client, headers, task):
    response = client.get("/api/v1/tasks/next?project=nope", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_next_limits_to_the_requested_project(client, session, headers, task):
    other = factories.make_project(session, kind=TaskKind.ranking)
    wanted = factories.make_task(session, other)
    session.commit()
    page = claim(client, headers, project=other.slug)
    assert page["assignment"]["task_id"] == wanted.id and len(page["answers"]) == 4
    assert page["project"] == {"slug": other.slug, "name": other.name, "kind": "ranking"}


# --- drafts and heartbeats ----------------------------------------------------------------------

def test_draft_round_trip_keeps_display_order(client, session, headers, task):
    page = claim(client, headers)
    assignment_id = page["assignment"]["id"]
    a = page["answers"][0]["completion_id"]
    response = client.put(f"/api/v1/assignments/{assignment_id}/draft", headers=headers,
                          json={"preference": -3, "critiques": {str(a): "Half done"}})
    assert response.status_code == 200 and response.get_json()["status"] == "draft"
    fresh(session)
    stored = session.scalars(select(Judgement)).one()
    assert stored.preference == (-3 if task.items[0].completion_id == a else 3)  # canonical
    draft = client.get(f"/api/v1/assignments/{assignment_id}/draft", headers=headers).get_json()["draft"]
    assert draft["preference"] == -3 and draft["critiques"] == {str(a): "Half done"} and draft["status"] == "draft"
    assert claim(client, headers)["draft"]["preference"] == -3  # reopening restores it


def test_draft_without_saves_is_null(client, headers, task):
    assignment_id = claim(client, headers)["assignment"]["id"]
    assert client.get(f"/api/v1/assignments/{assignment_id}/draft", headers=headers).get_json()["draft"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"preference": 5}, "preference"),
    ({"critiques": {"1": "bad\u0000"}}, "critique-1"),
    ({"scores": {"999999": {"accuracy": 3}}}, "score-999999"),  # not an answer of this task
])
def test_bad_draft_is_422_with_field_messages(client, session, headers, task, body, field):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.put(f"/api/v1/assignments/{assignment_id}/draft", headers=headers, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["details"]["fields"]
    assert count(session, Judgement) == 0


def test_draft_needs_a_json_object(client, headers, task):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.put(f"/api/v1/assignments/{assignment_id}/draft", headers=headers, data="[]",
                          content_type="application/json")
    assert response.status_code == 422 and "body" in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("body", [None, [], "x", {"focused": "sometimes"}])
def test_heartbeat_tolerates_odd_bodies_or_names_the_field(client, headers, task, body):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/heartbeat", headers=headers, json=body)
    if isinstance(body, dict):
        assert response.status_code == 422 and "focused" in response.get_json()["error"]["details"]["fields"]
    else:
        assert response.status_code == 200


def test_unfocused_heartbeat_over_http_counts_nothing(client, session, headers, task):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/heartbeat", headers=headers, json={"focused": False})
    assert response.status_code == 200 and count(session, ActivityInterval) == 0


def test_heartbeat_answers_active_seconds_and_stores_an_interval(client, session, headers, task):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/heartbeat", headers=headers, json={"focused": True})
    assert response.status_code == 200 and response.get_json()["active_seconds"] == 0
    assert count(session, ActivityInterval) == 1


# --- submitting and skipping --------------------------------------------------------------------

def test_submit_is_idempotent_by_header(client, session, headers, task):
    page = claim(client, headers)
    url = f"/api/v1/assignments/{page['assignment']['id']}/submit"
    first = client.post(url, headers={**headers, "Idempotency-Key": "0b3c5e9a-1f2d-4c3b"}, json=complete_body(page))
    again = client.post(url, headers={**headers, "Idempotency-Key": "0b3c5e9a-1f2d-4c3b"}, json=complete_body(page))
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() and first.get_json()["judgement"]["revision"] == 1
    assert count(session, Judgement) == 1 and count(session, JudgementRevision) == 1
    judgement = session.scalars(select(Judgement)).one()
    assert judgement.status is JudgementStatus.submitted and judgement.idempotency_key == "0b3c5e9a-1f2d-4c3b"
    assert session.get(Task, task.id).submitted_count == 1


def test_submit_accepts_the_key_in_the_body(client, session, headers, task):
    page = claim(client, headers)
    response = client.post(f"/api/v1/assignments/{page['assignment']['id']}/submit", headers=headers,
                           json=complete_body(page, idempotency_key="body-key-123"))
    assert response.status_code == 200
    fresh(session)
    assert session.scalars(select(Judgement)).one().idempotency_key == "body-key-123"


def test_incomplete_submit_lists_every_missing_field(client, session, headers, task):
    page = claim(client, headers)
    response = client.post(f"/api/v1/assignments/{page['assignment']['id']}/submit", headers=headers,
                           json={"preference": 1})
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert {"confidence", "rewrite", "rewrite_source_id"} <= set(fields) and len(fields) == 7
    assert count(session, Judgement) == 0


def test_contradiction_is_422_needs_confirmation_until_confirmed(client, session, headers, task):
    page = claim(client, headers)
    a, b = (answer["completion_id"] for answer in page["answers"])
    url = f"/api/v1/assignments/{page['assignment']['id']}/submit"
    body = complete_body(page, scores={str(a): {"accuracy": 1}, str(b): {"accuracy": 5}})
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "needs_confirmation" and "preference" in error["details"]["warnings"]
    assert count(session, Judgement) == 0
    assert client.post(url, headers=headers, json={**body, "confirm": True}).status_code == 200


def test_second_submission_with_a_new_key_is_409(client, headers, task):
    page = claim(client, headers)
    url = f"/api/v1/assignments/{page['assignment']['id']}/submit"
    assert client.post(url, headers={**headers, "Idempotency-Key": "key-one-111"}, json=complete_body(page)).status_code == 200
    response = client.post(url, headers={**headers, "Idempotency-Key": "key-two-222"}, json=complete_body(page))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_bad_idempotency_key_is_422(client, headers, task):
    page = claim(client, headers)
    response = client.post(f"/api/v1/assignments/{page['assignment']['id']}/submit",
                           headers={**headers, "Idempotency-Key": "x"}, json=complete_body(page))
    assert response.status_code == 422 and "idempotency_key" in response.get_json()["error"]["details"]["fields"]


def test_skip_is_a_status_and_frees_the_queue(client, session, headers, task):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/skip", headers=headers,
                           json={"reason": "outside_expertise", "note": "Insurance, not banking."})
    assert response.status_code == 200 and response.get_json()["assignment"]["status"] == "skipped"
    fresh(session)
    row = session.get(Assignment, assignment_id)
    assert (row.status, row.skip_reason, row.skip_note) == (AssignmentStatus.skipped, "outside_expertise", "Insurance, not banking.")
    assert client.get("/api/v1/tasks/next", headers=headers).status_code == 204


@pytest.mark.parametrize("body", [{}, {"reason": "bored"}, {"reason": 3}, {"reason": "other", "note": 5}])
def test_skip_needs_a_known_reason(client, headers, task, body):
    assignment_id = claim(client, headers)["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/skip", headers=headers, json=body)
    assert response.status_code == 422


# --- access -------------------------------------------------------------------------------------

OWN_ENDPOINTS = [("get", "draft"), ("put", "draft"), ("post", "heartbeat"), ("post", "submit"), ("post", "skip")]


@pytest.mark.parametrize(("method", "action"), OWN_ENDPOINTS)
def test_another_experts_assignment_is_404(client, session, task, method, action):
    owner, intruder = factories.make_user(session), factories.make_user(session)
    assignment = factories.make_assignment(session, task, owner)
    _, secret = create_token(session, intruder, "t")
    session.commit()
    response = getattr(client, method)(f"/api/v1/assignments/{assignment.id}/{action}",
                                       headers={"Authorization": f"Bearer {secret}"}, json={"reason": "other"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    fresh(session)
    assert session.get(Assignment, assignment.id).status is AssignmentStatus.active
    assert count(session, Judgement) == 0


@pytest.mark.parametrize(("method", "action"), OWN_ENDPOINTS)
@pytest.mark.parametrize("assignment_id", [999999, 0, 2**31, 10**30])
def test_unknown_assignment_is_404(client, headers, method, action, assignment_id):
    response = getattr(client, method)(f"/api/v1/assignments/{assignment_id}/{action}", headers=headers, json={})
    assert response.status_code == 404


HOSTILE_BODIES = [
    {"preference": 10**30}, {"confidence": -(10**30)}, {"ranking": {"1": None}}, {"ranking": {str(10**11): 1}},
    {"scores": {"1": None}}, {"scores": {"1": {"accuracy": None}}}, {"scores": {str(10**20): {"a": 1}}},
    {"scores": {"1": {"accuracy": 10**30}}}, {"critiques": {"1": None}}, {"critiques": {"1": {"nested": ["x"]}}},
    {"rewrite_source_id": 10**20}, {"rewrite_source_id": 3.5}, {"flags": [None, 3]}, {"flags": {"a": 1}},
    {"rewrite": "\u2028line\u2029sep\u0085"}, {"critiques": {"1": "\ud83d"}}, {"idempotency_key": "' OR 1=1 --"},
    {"idempotency_key": ["k" * 20]}, {"confirm": {"yes": True}}, {"reason": "other", "note": "x" * 5000},
    {"ranking": {"1": 1, "2": "1"}}, {"preference": None, "ranking": None, "scores": None, "critiques": None},
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
@pytest.mark.parametrize("action", ["draft", "submit", "skip", "heartbeat"])
def test_hostile_bodies_never_cause_a_server_error(client, headers, task, body, action):
    assignment_id = claim(client, headers)["assignment"]["id"]
    method = client.put if action == "draft" else client.post
    response = method(f"/api/v1/assignments/{assignment_id}/{action}", headers=headers, json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json


def test_cookie_calls_need_the_csrf_header(login_as, session, task):
    client, _ = login_as(Role.expert)
    page = claim(client, {})
    url = f"/api/v1/assignments/{page['assignment']['id']}/draft"
    token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert client.put(url, json={"confidence": 3}).status_code == 400
    assert count(session, Judgement) == 0
    assert client.put(url, json={"confidence": 3}, headers={"X-CSRFToken": token}).status_code == 200
    assert count(session, Judgement) == 1


def test_bearer_calls_need_no_csrf_header(client, headers, task):
    page = claim(client, headers)
    response = client.put(f"/api/v1/assignments/{page['assignment']['id']}/draft", headers=headers, json={})
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.reviewer, Role.lab])
def test_only_experts_use_the_queue(client, session, task, role):
    user = factories.make_user(session, role=role)
    _, secret = create_token(session, user, "t")
    session.commit()
    response = client.get("/api/v1/tasks/next", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


def test_anonymous_calls_are_401(client, task):
    assert client.get("/api/v1/tasks/next").status_code == 401


def test_openapi_documents_the_expert_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/assignments/{assignment_id}/draft"]) == {"get", "put"}
    for path in ("/tasks/next", "/assignments/{assignment_id}/heartbeat", "/assignments/{assignment_id}/submit",
                 "/assignments/{assignment_id}/skip"):
        assert path in paths
    submit = paths["/assignments/{assignment_id}/submit"]["post"]
    assert "preference" in submit["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "204" in paths["/tasks/next"]["get"]["responses"]
