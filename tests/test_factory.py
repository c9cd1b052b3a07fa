"""The app factory: settings, refusal of unsafe keys, database pragmas, error pages."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from rlhf_app import create_app
from rlhf_app.config import ConfigError
from rlhf_app.db import begin_write, create_db_engine


@pytest.mark.parametrize("key", ["", "changeme", "dev", "short-key"])
def test_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    with pytest.raises(ConfigError, match="RLHF_SECRET_KEY"):
        create_app({"SECRET_KEY": key, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})


def test_starts_with_a_long_secret_key_and_secure_cookies(tmp_path):
    app = create_app({"SECRET_KEY": "k" * 40, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_settings_come_from_rlhf_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("RLHF_SECRET_KEY", "e" * 40)
    monkeypatch.setenv("RLHF_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("RLHF_EXPORT_DIR", str(tmp_path / "out"))
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("env.sqlite3")
    assert app.config["EXPORT_DIR"] == str(tmp_path / "out")


def test_rejects_an_unknown_database_url(tmp_path):
    with pytest.raises(ConfigError, match="RLHF_DATABASE_URL"):
        create_app({"TESTING": True, "DATABASE_URL": "mysql://x"})


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/p.sqlite3")
    with engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                   ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 2}


def test_a_writer_holds_the_sqlite_write_lock_from_its_first_statement(tmp_path):
    from sqlalchemy.orm import Session

    engine = create_db_engine(f"sqlite:///{tmp_path}/w.sqlite3")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with Session(engine) as writer:
        begin_write(writer)
        writer.execute(sa.text("SELECT count(*) FROM t"))  # a read, yet the write lock is already held
        other = create_db_engine(f"sqlite:///{tmp_path}/w.sqlite3")
        with other.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=50")
            with pytest.raises(sa.exc.OperationalError, match="locked"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        other.dispose()
    engine.dispose()


def test_unknown_page_is_a_plain_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("app_overrides", [{"MAX_CONTENT_LENGTH": 1024}])
def test_oversized_request_gets_413_not_a_stack_trace(client, app_overrides):
    response = client.post("/login", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "larger than this server accepts" in response.get_data(as_text=True)
