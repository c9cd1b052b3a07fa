"""The rlhf command: init, users, tokens, projects, tasks and demo."""
from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from rlhf_app.models import ApiToken, Project, Role, Task, User

from . import factories
from .projects.test_loader import write_set


def test_init_upgrades_an_empty_database(tmp_path):
    from rlhf_app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"})
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "is at revision 0001 (was empty)" in result.output


def test_users_create_and_disable(runner, session):
    result = runner.invoke(args=["users", "create", "New@Example.test", "--name", "Nia", "--role", "expert",
                                 "--domains", "finance, Strategy", "--rate-cents", "20000", "--password", "a long passphrase"])
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "new@example.test"))
    assert (user.role, user.domains, user.hourly_rate_cents) == (Role.expert, ["finance", "strategy"], 20000)
    assert user.password_hash.startswith("$argon2id$")
    result = runner.invoke(args=["users", "disable", "new@example.test"])
    assert result.exit_code == 0
    session.rollback()  # end any read snapshot, then look again
    session.expire_all()
    assert session.get(User, user.id).is_active is False


@pytest.mark.parametrize("args,message", [
    (["--role", "expert", "--password", "password"], "commonly used"),
    (["--role", "expert", "--password", "short"], "at least 8"),
    (["--role", "lab", "--password", "a long passphrase"], "needs --workspace"),
])
def test_users_create_rejects_bad_input_with_a_message(runner, session, args, message):
    result = runner.invoke(args=["users", "create", "x@example.test", "--name", "X", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_tokens_create_prints_the_secret_once_and_stores_a_hash(runner, session, client):
    user = factories.make_user(session, role=Role.lab)
    session.commit()
    result = runner.invoke(args=["tokens", "create", user.email, "--name", "ci"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    stored = session.scalar(select(ApiToken))
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.prefix + stored.name)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and response.get_json()["email"] == user.email

    assert runner.invoke(args=["tokens", "revoke", str(stored.id)]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_tokens_create_for_unknown_user_fails(runner):
    result = runner.invoke(args=["tokens", "create", "ghost@example.test"])
    assert result.exit_code != 0 and "no active user" in result.output


def test_projects_load_builds_tasks_and_is_idempotent(runner, session, tmp_path):
    folder = write_set(tmp_path / "set")
    first = runner.invoke(args=["projects", "load", str(folder)])
    assert first.exit_code == 0, first.output
    assert "3 prompts added" in first.output and "3 tasks built" in first.output
    second = runner.invoke(args=["projects", "load", str(folder)])
    assert "0 prompts added (3 unchanged)" in second.output and "0 tasks built" in second.output
    assert session.scalar(select(func.count()).select_from(Task)) == 3


def test_projects_load_reports_errors_and_exits_non_zero(runner, session, tmp_path):
    folder = write_set(tmp_path / "bad", prompts=['{"external_id": "q0"', {"external_id": "q1", "messages": []}], completions=[])
    result = runner.invoke(args=["projects", "load", str(folder)])
    assert result.exit_code != 0
    assert "prompts.jsonl:1: not valid JSON" in result.output and "prompts.jsonl:2:" in result.output
    assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_tasks_build_rejects_an_unknown_strategy(runner, session, tmp_path):
    runner.invoke(args=["projects", "load", str(write_set(tmp_path / "set"))])
    result = runner.invoke(args=["tasks", "build", "--project", "tiny-finance", "--strategy", "everything"])
    assert result.exit_code != 0 and "is not a strategy" in result.output


def test_demo_sets_up_accounts_and_prompt_sets_without_serving(tmp_path, monkeypatch):
    from rlhf_app.cli.demo import demo
    from rlhf_app.db import create_db_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    monkeypatch.setenv("RLHF_DATABASE_URL", url)
    write_set(tmp_path / "prompts" / "tiny")
    result = CliRunner().invoke(demo, ["--no-serve", "--prompts", str(tmp_path / "prompts")])
    assert result.exit_code == 0, result.output
    for email in ("admin@demo.local", "lab@demo.local", "reviewer@demo.local", "expert1@demo.local", "expert2@demo.local"):
        assert email in result.output
    assert f"export RLHF_DATABASE_URL={url}" in result.output
    engine = create_db_engine(url)
    with make_sessionmaker(engine)() as session:
        expert2 = session.scalar(select(User).where(User.email == "expert2@demo.local"))
        assert expert2.domains == ["finance"]
        assert session.scalar(select(func.count()).select_from(Task)) == 3
    engine.dispose()
