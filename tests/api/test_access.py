"""API authentication: bearer tokens, CSRF for cookie calls, workspace scoping, JSON errors."""
from __future__ import annotations

import pytest

from rlhf_app.auth.tokens import create_token
from rlhf_app.models import Role

from .. import factories


def bearer(session, user) -> dict[str, str]:
    _, secret = create_token(session, user, "test")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_openapi_document_lists_the_paths(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/projects/{slug}" in doc["paths"] and "bearer" in doc["components"]["securitySchemes"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer rlhf_wrong", "Basic abc"])
def test_calls_without_a_valid_token_get_401_json(client, header):
    response = client.get("/api/v1/projects", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_disabled_users_token_stops_working(client, session):
    user = factories.make_user(session, role=Role.lab)
    headers = bearer(session, user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    user.is_active = False
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_lab_sees_only_its_workspace_and_gets_404_for_others(client, session):
    lab = factories.make_user(session, role=Role.lab)
    own = factories.make_project(session, workspace=lab.workspace)
    other = factories.make_project(session)
    headers = bearer(session, lab)
    listed = client.get("/api/v1/projects", headers=headers).get_json()["projects"]
    assert [p["slug"] for p in listed] == [own.slug]
    assert client.get(f"/api/v1/projects/{own.slug}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/projects/{other.slug}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_expert_token_cannot_read_lab_endpoints(client, session):
    expert = factories.make_user(session, role=Role.expert)
    assert client.get("/api/v1/projects", headers=bearer(session, expert)).status_code == 403


def test_cookie_authenticated_api_writes_need_the_csrf_header(login_as):
    client, _ = login_as(Role.lab)
    token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert client.post("/api/v1/me").status_code == 400  # CSRF refused before anything else
    assert client.post("/api/v1/me", headers={"X-CSRFToken": token}).status_code == 405  # passes CSRF


def test_bearer_calls_are_exempt_from_csrf(client, session):
    lab = factories.make_user(session, role=Role.lab)
    assert client.post("/api/v1/me", headers=bearer(session, lab)).status_code == 405


def test_unreachable_database_answers_503_with_retry_after(database_url, engine):
    from rlhf_app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    response = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer rlhf_whatever"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "unavailable"
