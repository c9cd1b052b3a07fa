"""Sign-in, sign-out, sessions that die with logout, redirects and role gates, over HTTP."""
from __future__ import annotations

import pytest

from rlhf_app.models import AuditEvent, Role, User

from .. import factories
from ..conftest import csrf_token, sign_in

GENERIC = "The email or password is not right, or the account is disabled."


def test_sign_in_lands_on_the_role_dashboard(client, session):
    user = factories.make_user(session, role=Role.reviewer)
    session.commit()
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/reviewer"
    assert "Review" in client.get("/reviewer").get_data(as_text=True)


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "disabled user"])
def test_failed_sign_in_gives_one_message_for_every_cause(client, session, case):
    user = factories.make_user(session, is_active=case != "disabled user")
    session.commit()
    email = "nobody@example.test" if case == "unknown user" else user.email
    password = "wrong-password" if case == "wrong password" else factories.PASSWORD
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert client.get("/expert").status_code == 302  # still anonymous


def test_sign_in_without_csrf_token_is_refused(client, session):
    user = factories.make_user(session)
    session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_old_session_cookie_is_dead_after_logout(app, client, session):
    user = factories.make_user(session)
    session.commit()
    sign_in(client, user.email)
    stolen = client.get_cookie("rlhf_session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/expert")})
    replay = app.test_client()
    replay.set_cookie("rlhf_session", stolen)
    assert replay.get("/expert").status_code == 302  # sent to sign in, not served
    assert session.query(AuditEvent).filter_by(action="user.sessions_ended").count() == 1


def test_remember_cookie_is_dead_after_password_change(app, client, session):
    user = factories.make_user(session)
    session.commit()
    sign_in(client, user.email, remember="y")
    remember = client.get_cookie("remember_token").value
    other = app.test_client()
    other.set_cookie("remember_token", remember)
    assert other.get("/expert").status_code == 200  # the remember cookie works before
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"csrf_token": token, "current_password": factories.PASSWORD,
                                                      "new_password": "a much better passphrase", "confirm": "a much better passphrase"})
    assert response.status_code == 302
    assert client.get("/expert").status_code == 200  # this browser stays signed in
    after = app.test_client()
    after.set_cookie("remember_token", remember)
    assert after.get("/expert").status_code == 302  # the old remember cookie is dead


def test_password_change_rejects_common_password(login_as):
    client, user = login_as(Role.expert)
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"csrf_token": token, "current_password": factories.PASSWORD,
                                                      "new_password": "password123", "confirm": "password123"})
    assert response.status_code == 422
    assert "commonly used" in response.get_data(as_text=True)


@pytest.mark.parametrize("target,expected", [
    ("/reviewer", "/reviewer"),
    ("//evil.example", "/expert"),
    ("/\\evil.example", "/expert"),
    ("/%09/evil.example", "/expert"),
    ("https://evil.example/", "/expert"),
    ("javascript:alert(1)", "/expert"),
])
def test_next_parameter_only_redirects_to_local_paths(client, session, target, expected):
    user = factories.make_user(session, role=Role.expert)
    session.commit()
    token = csrf_token(client)
    response = client.post(f"/login?next={target}", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == expected or (expected == "/expert" and response.headers["Location"] == "/")


@pytest.mark.parametrize("path", ["/lab", "/reviewer", "/admin", "/projects/"])
def test_expert_cannot_open_other_roles_pages(login_as, path):
    client, _ = login_as(Role.expert)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/expert", "/lab", "/reviewer", "/admin", "/projects/", "/account/password"])
def test_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("app_overrides", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_sign_in_is_throttled_per_account_across_addresses(client, session, app_overrides):
    user = factories.make_user(session)
    session.commit()
    statuses = []
    for n in range(5):
        token = csrf_token(client)
        statuses.append(client.post("/login", data={"email": user.email, "password": "wrong", "csrf_token": token},
                                    environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


@pytest.mark.parametrize("app_overrides", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_sign_in_is_throttled_per_address_across_accounts(client, session, app_overrides):
    statuses = []
    for n in range(5):
        token = csrf_token(client)
        statuses.append(client.post("/login", data={"email": f"guess{n}@example.test", "password": "x", "csrf_token": token}).status_code)
    assert statuses[3:] == [429, 429]


def test_email_is_matched_case_insensitively(client, session):
    user = factories.make_user(session, email="mixed@example.test")
    session.commit()
    assert sign_in(client, "  Mixed@Example.TEST ").status_code == 302
    session.rollback()  # end any read snapshot, then look again
    session.expire_all()
    assert session.get(User, user.id).last_login_at is not None


def test_throttle_counts_are_shared_between_workers_through_redis(database_url, engine, session, redis_url):
    """Two app instances (two gunicorn workers) on one Redis share one attempt budget."""
    import uuid

    from rlhf_app import create_app

    user = factories.make_user(session)
    session.commit()
    settings = {"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                "LOGIN_RATE_LIMIT": "4 per minute", "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    statuses = []
    for attempt in range(6):
        worker = create_app(dict(settings))  # a new instance each time, like requests landing on other workers
        client = worker.test_client()
        token = csrf_token(client)
        statuses.append(client.post("/login", data={"email": user.email, "password": "wrong", "csrf_token": token},
                                    environ_base={"REMOTE_ADDR": f"10.1.0.{attempt}"}).status_code)
        worker.extensions["rlhf_db"]["engine"].dispose()
    assert statuses == [401, 401, 401, 401, 429, 429]
