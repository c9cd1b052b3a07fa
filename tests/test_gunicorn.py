"""The production server as configured in gunicorn.conf.py: preloaded app, forked workers that
each open their own database connections, and a killed worker replaced within 5 s (SECURITY.md)."""
from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlhf_app import migrate
from rlhf_app.auth.tokens import create_token
from rlhf_app.db import create_db_engine, make_sessionmaker
from rlhf_app.models import Role, User

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc (Linux)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path):
    """gunicorn with the repository's config, 2 workers, on a fresh SQLite database; (port, pid, token)."""
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session:
        user = User(email="expert@example.org", name="Expert", role=Role.expert, domains=["finance"], password_hash="x")
        session.add(user)
        session.flush()
        _, token = create_token(session, user, "gunicorn test")
        session.commit()
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "RLHF_SECRET_KEY": secrets.token_hex(32), "RLHF_DATABASE_URL": url}
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2",
               "-b", f"127.0.0.1:{port}", "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)
    bearer = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while _get(port, "/api/v1/assignments/1/draft", bearer) != 404:
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    yield port, process.pid, bearer
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_every_worker_reads_the_database_and_a_killed_one_is_replaced_within_5_s(served):
    port, master, bearer = served
    deadline = time.monotonic() + 10  # the master forks its workers one after the other
    while len(workers := _children(master)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2
    # 404 for an unknown assignment means the worker authenticated the token against the database
    assert {_get(port, "/api/v1/assignments/1/draft", bearer) for _ in range(20)} == {404}
    os.kill(min(workers), signal.SIGKILL)
    started = time.monotonic()
    while len(_children(master) - {min(workers)}) < 2 and time.monotonic() - started < 5:
        time.sleep(0.05)
    replacement = _children(master) - workers
    assert len(replacement) == 1, "no replacement worker within 5 s"
    assert {_get(port, "/api/v1/assignments/1/draft", bearer) for _ in range(20)} == {404}
    assert time.monotonic() - started < 5
