"""The annotate loop under load: 32 experts claim -> render -> draft -> submit against gunicorn.

For each engine (SQLite, then PostgreSQL) it creates a fresh database (a temp SQLite file, or a
PostgreSQL schema it drops afterwards), migrates it, bulk-seeds 10,000 pairwise tasks, starts
gunicorn with the repository's gunicorn.conf.py and 2 workers on 127.0.0.1:18000-18099, and drives
the experts from threads over keep-alive HTTP for a bounded time per phase. A phase is a think
time between steps: 0 ms saturates the server (throughput); 500 ms (give or take half, randomly,
so experts do not move in lock step) gives the latency at a busy but unsaturated load, still about
a hundred times faster than people judge. "render" is the annotate page (``/annotate/<id>``, signed in with a
cookie) when that route exists, else ``GET /api/v1/assignments/<id>/draft``. The other steps are
API calls with bearer tokens. It prints figures as it goes and, as its last line, one JSON object.
On a PostgreSQL server with autovacuum off (as on the development machine) it runs VACUUM ANALYZE
on its tables before each phase, as autovacuum would: without statistics the planner keeps plans
made for empty tables while judgements pile up.

    .venv/bin/python bench/annotate.py [--seconds 20] [--experts 32] [--tasks 10000] [--think-ms 0,500]
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from common import scratch_database  # noqa: E402
from rlhf_app import migrate  # noqa: E402
from rlhf_app.auth.service import hash_password  # noqa: E402
from rlhf_app.auth.tokens import create_token  # noqa: E402
from rlhf_app.db import Base, create_db_engine, make_sessionmaker  # noqa: E402
from rlhf_app.models import (  # noqa: E402
    Assignment, Completion, GuidelineVersion, Judgement, JudgementStatus, Project, Prompt, Role, Task, TaskItem, User,
    Workspace,
)

STEPS = ("claim", "render", "draft", "submit")
TARGETS_MS = {"claim": 25.0, "render": 30.0, "submit": 30.0}
PORTS = range(18000, 18100)
WARM_UP_SECONDS = 3.0
OVERLAP = 2
PASSWORD = "bench passphrase for experts"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RUBRIC = {"criteria": [
    {"key": key, "title": title, "description": f"How well the answer does on {title.lower()}.", "scale_min": 1,
     "scale_max": 5, "required": True, "levels": [f"{n} - level {n}" for n in range(1, 6)]}
    for key, title in [("technical_accuracy", "Technical accuracy"), ("risks_assumptions", "Risks and assumptions"),
                       ("reasoning_calculation", "Reasoning and calculation"), ("clarity", "Clarity")]
]}


# --- command line -------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("RLHF_BENCH_PG_URL") or DEFAULT_PG)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each phase")
    parser.add_argument("--experts", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--think-ms", default="0,500", help="phases: think time between an expert's steps, in ms")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (default: gunicorn.conf.py)")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.think = [int(t) for t in args.think_ms.split(",") if t.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every engine and phase; the last line printed is the JSON of all figures."""
    args = parse_args(argv)
    figures: dict[str, Any] = {"experts": args.experts, "tasks": args.tasks, "seconds_per_phase": args.seconds,
                               "workers": args.workers, "threads": args.threads or "gunicorn.conf.py",
                               "cpus": os.cpu_count()}
    for engine in args.engines:
        figures.update(run_engine(engine, args))
    print_verdict(figures, args)
    print(json.dumps(figures, sort_keys=True))
    return 0


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed a fresh database, serve it, warm up, run each phase, check integrity."""
    figures: dict[str, Any] = {}
    with scratch_database(args.pg_url if engine == "postgresql" else None) as url:
        started = time.perf_counter()
        experts = seed(url, args.tasks, args.experts)
        figures[f"{engine}_seed_seconds"] = round(time.perf_counter() - started, 2)
        print(f"[{engine}] seeded {args.tasks:,} tasks and {args.experts} experts in {figures[f'{engine}_seed_seconds']} s",
              flush=True)
        stand_in_for_autovacuum = engine == "postgresql" and not autovacuum_on(url)
        if stand_in_for_autovacuum:
            print(f"[{engine}] autovacuum is off on this server: the bench runs VACUUM ANALYZE before each phase, "
                  "as autovacuum would after the seeding and the previous phase's writes", flush=True)
        with server(url, args) as (port, pid):
            render = figures[f"{engine}_render_is"] = detect_render(port, experts[0])
            if render == "page":
                sign_in_all(port, experts)
            drive(port, experts, WARM_UP_SECONDS, 0, render, label=f"{engine} warm-up")
            for think in args.think:
                if stand_in_for_autovacuum:
                    vacuum_analyze(url)
                figures.update(run_phase(port, pid, experts, render, args.seconds, think, f"{engine}_think{think}"))
        figures[f"{engine}_integrity"] = check_integrity(url)
        print(f"[{engine}] integrity: {figures[f'{engine}_integrity']}", flush=True)
    return figures


def run_phase(port: int, pid: int, experts: list[Expert], render: str, seconds: float, think: int, prefix: str) -> dict[str, Any]:
    with cpu_meter(pid) as cpu:
        result = drive(port, experts, seconds, think, render, label=prefix)
    return {**result.figures(prefix), **{f"{prefix}_{k}": v for k, v in cpu.per_loop(result.loops).items()}}


# --- databases ----------------------------------------------------------------------------------

@dataclass
class Expert:
    email: str
    token: str
    cookie: str = ""
    csrf: str = ""


def seed(url: str, tasks: int, experts: int) -> list[Expert]:
    """Migrate, bulk-insert one project with ``tasks`` pairwise tasks, and create the experts."""
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        project_id = _seed_project(conn)
        _seed_tasks(conn, project_id, tasks)
        if engine.dialect.name == "postgresql":
            for table in ("prompts", "completions", "tasks"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    result = _seed_experts(engine, experts)
    engine.dispose()
    return result


def _seed_project(conn: sa.Connection) -> int:
    workspace_id = conn.execute(sa.insert(Workspace).values(slug="bench-lab", name="Bench lab").returning(Workspace.id)).scalar_one()
    project_id = conn.execute(sa.insert(Project).values(
        workspace_id=workspace_id, slug="bench", name="Bench: valuation", domain="finance", kind="pairwise",
        judgements_per_task=OVERLAP, review_rate=0.0, gold_rate=0.1, lease_minutes=30, pay_rules={}, models=[],
        status="active", guideline_version=1).returning(Project.id)).scalar_one()
    conn.execute(sa.insert(GuidelineVersion).values(
        project_id=project_id, version=1, instructions=INSTRUCTIONS, rubric=RUBRIC, content_hash="bench"))
    return project_id


def _seed_tasks(conn: sa.Connection, project_id: int, count: int) -> None:
    """Prompts, two completions each, tasks and their items, in bulk (explicit ids, no round trips)."""
    rng = random.Random(7)
    prompts, completions, tasks, items = [], [], [], []
    for n in range(1, count + 1):
        prompts.append({"id": n, "project_id": project_id, "external_id": f"b-{n}", "tags": [], "meta": {},
                        "messages": [{"role": "user", "content": f"Deal {n}: what WACC should the DCF use? " + QUESTION}],
                        "content_hash": f"p{n}"})
        for side in (0, 1):
            cid = 2 * n - 1 + side
            completions.append({"id": cid, "prompt_id": n, "model_name": f"model-{'ab'[side]}", "source": "imported",
                                "text": answer_text(rng, n, side), "generation": {}, "content_hash": f"c{cid}"})
            items.append({"task_id": n, "position": side, "completion_id": cid})
        tasks.append({"id": n, "project_id": project_id, "prompt_id": n, "signature": f"s{n}", "is_gold": n % 10 == 0,
                      "gold_preference": -2 if n % 10 == 0 else None, "status": "open", "submitted_count": 0})
    for model, rows in ((Prompt, prompts), (Completion, completions), (Task, tasks), (TaskItem, items)):
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(model), rows[start:start + 5000])


def _seed_experts(engine: sa.Engine, count: int) -> list[Expert]:
    password_hash = hash_password(PASSWORD)
    experts = []
    with make_sessionmaker(engine)() as session:
        for n in range(count):
            user = User(email=f"expert{n}@bench.local", name=f"Expert {n}", role=Role.expert, domains=["finance"],
                        hourly_rate_cents=20000, password_hash=password_hash)
            session.add(user)
            session.flush()
            _, secret = create_token(session, user, "bench")
            experts.append(Expert(email=user.email, token=secret))
        session.commit()
    return experts


def autovacuum_on(url: str) -> bool:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        on = conn.scalar(sa.text("SHOW autovacuum")) == "on"
    engine.dispose()
    return on


def vacuum_analyze(url: str) -> None:
    """What autovacuum does after bulk changes: reclaim dead rows and refresh the planner's statistics."""
    engine = create_db_engine(url).execution_options(isolation_level="AUTOCOMMIT")  # VACUUM refuses transactions
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.connect() as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {tables}"))
    engine.dispose()


def check_integrity(url: str) -> str:
    """No task beyond its overlap, no expert twice on a task, submitted judgements = counted."""
    engine = create_db_engine(url)
    with engine.connect() as conn:
        over = conn.scalar(sa.select(sa.func.count()).select_from(
            sa.select(Assignment.task_id).where(Assignment.status.in_(["active", "submitted"]))
            .group_by(Assignment.task_id).having(sa.func.count() > OVERLAP).subquery()))
        submitted = conn.scalar(sa.select(sa.func.count()).select_from(Judgement).where(Judgement.status == JudgementStatus.submitted))
        counted = conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(Task.submitted_count), 0)))
    engine.dispose()
    return "ok" if over == 0 and submitted == counted else f"FAILED: {over} tasks over overlap, {submitted} vs {counted}"


# --- the server ---------------------------------------------------------------------------------

@contextlib.contextmanager
def server(url: str, args: argparse.Namespace) -> Iterator[tuple[int, int]]:
    """gunicorn with the repository's config and ``args.workers`` workers on a free bench port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="rlhf-bench-gunicorn-", suffix=".log", delete=False)
    env = {**os.environ, "RLHF_SECRET_KEY": secrets.token_hex(32), "RLHF_DATABASE_URL": url,
           "RLHF_LOGIN_RATE_LIMIT": "10000 per minute"}  # 32 sign-ins from one address at start
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
               "-w", str(args.workers), "-b", f"127.0.0.1:{port}"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    process = subprocess.Popen(command + ["wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_until_up(port, process, log.name)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        os.unlink(log.name)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit("no free port in 18000-18099")


def wait_until_up(port: int, process: subprocess.Popen, log_path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{Path(log_path).read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            status, _, _ = request(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "GET", "/api/v1/openapi.json")
            if status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 30 s")


@dataclass
class CpuUse:
    server_seconds: float = 0.0
    client_seconds: float = 0.0
    loadavg_before: float = 0.0

    def per_loop(self, loops: int) -> dict[str, float]:
        """CPU milliseconds per loop on each side, and the machine's load when the phase began."""
        loops = max(loops, 1)
        return {"server_cpu_ms_per_loop": round(self.server_seconds * 1000 / loops, 2),
                "client_cpu_ms_per_loop": round(self.client_seconds * 1000 / loops, 2),
                "loadavg_before": self.loadavg_before}


@contextlib.contextmanager
def cpu_meter(master_pid: int) -> Iterator[CpuUse]:
    """CPU used by gunicorn (master and workers) and by this client while the block runs."""
    use = CpuUse(loadavg_before=round(os.getloadavg()[0], 2))
    server_before, client_before = server_cpu(master_pid), time.process_time()
    yield use
    use.server_seconds = server_cpu(master_pid) - server_before
    use.client_seconds = time.process_time() - client_before


def server_cpu(master_pid: int) -> float:
    """CPU seconds of the gunicorn master, its live workers and the workers it reaped (Linux /proc).

    gunicorn recycles workers (``max_requests``); a reaped worker's time moves to the master's
    cutime/cstime, so those count too.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # fields[1] is the parent pid
            if int(stat.parent.name) == master_pid:
                total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
            elif int(fields[1]) == master_pid:
                total += int(fields[11]) + int(fields[12])
    return total / ticks


# --- HTTP ---------------------------------------------------------------------------------------

def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    all_headers = dict(headers or {})
    if body is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    return response.status, response.read(), response


CSRF_META = re.compile(rb'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(conn: http.client.HTTPConnection, expert: Expert) -> None:
    """A cookie session for the annotate page, as a browser would get one."""
    status, html, response = request(conn, "GET", "/login")
    cookie = _cookie(response) or ""
    token = (CSRF_INPUT.search(html) or CSRF_META.search(html)).group(1).decode()
    form = urlencode({"email": expert.email, "password": PASSWORD, "csrf_token": token}).encode()
    status, _, response = request(conn, "POST", "/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    if status != 302:
        raise SystemExit(f"sign-in failed for {expert.email}: {status}")
    expert.cookie = _cookie(response) or cookie


def _cookie(response: http.client.HTTPResponse) -> str | None:
    cookies = [h.split(";", 1)[0] for h in response.headers.get_all("Set-Cookie") or []]
    return "; ".join(cookies) or None


def sign_in_all(port: int, experts: list[Expert]) -> None:
    """Cookie sessions for every expert before the clock starts (argon2 is slow on purpose)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for expert in experts:
        if not expert.cookie:
            sign_in(conn, expert)
    conn.close()


def detect_render(port: int, expert: Expert) -> str:
    """``page`` when the annotate page exists (its 404 names the assignment), else ``api_draft``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sign_in(conn, expert)
    status, body, _ = request(conn, "GET", "/annotate/999999999", headers={"Cookie": expert.cookie})
    conn.close()
    return "page" if status == 404 and b"There is no assignment" in body else "api_draft"


# --- the load -----------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STEPS})
    loops: int = 0
    empty: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.latencies[step].append(ms)
            self.failures[step] += not ok

    def line(self, elapsed: float) -> str:
        parts = [f"{elapsed:5.1f}s loops {self.loops} ({self.loops / max(elapsed, 1e-9):.1f}/s)"]
        for step in STEPS:
            values = sorted(self.latencies[step])
            if values:
                parts.append(f"{step} p50 {pct(values, 50):.1f} p95 {pct(values, 95):.1f} p99 {pct(values, 99):.1f} ms")
        return " | ".join(parts)

    def figures(self, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {f"{prefix}_loops_per_s": round(self.loops / self.seconds, 1)}
        for step in STEPS:
            values = sorted(self.latencies[step])
            out[f"{prefix}_{step}_per_s"] = round(len(values) / self.seconds, 1)
            out[f"{prefix}_{step}_errors"] = self.failures[step]
            for p in (50, 95, 99):
                out[f"{prefix}_{step}_p{p}_ms"] = round(pct(values, p), 2) if values else None
        return out


def pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def drive(port: int, experts: list[Expert], seconds: float, think_ms: int, render: str, *, label: str) -> Result:
    """Every expert loops claim -> render -> draft -> submit until the time is up."""
    result = Result(seconds=seconds)
    stop = threading.Event()
    threads = [threading.Thread(target=expert_loop, args=(port, e, result, stop, think_ms / 1000, render)) for e in experts]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        time.sleep(min(5.0, seconds - elapsed))
        print(f"[{label}] {result.line(time.perf_counter() - started)}", flush=True)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    result.seconds = time.perf_counter() - started
    return result


def expert_loop(port: int, expert: Expert, result: Result, stop: threading.Event, think: float, render: str) -> None:
    """One expert: claim, think, render, think, draft, think, submit, think; until ``stop``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    bearer = {"Authorization": f"Bearer {expert.token}"}
    rng = random.Random(expert.email)
    pause(stop, think, rng, start=True)
    while not stop.is_set():
        status, body = timed(result, "claim", conn, "GET", "/api/v1/tasks/next?project=bench", None, bearer, ok=(200, 204))
        if status != 200:
            result.empty += status == 204
            stop.wait(0.5)
            continue
        for step, method, path, payload, headers in _steps(json.loads(body), expert, render):
            pause(stop, think, rng)
            if stop.is_set():
                break  # not a burst of 32 requests the instant the phase ends
            timed(result, step, conn, method, path, payload, headers)
        else:
            with result.lock:
                result.loops += 1
        pause(stop, think, rng)
    conn.close()


def _steps(page: dict[str, Any], expert: Expert, render: str) -> Iterator[tuple[Any, ...]]:
    """(step, method, path, body, headers) of render, draft and submit for the claimed task."""
    bearer = {"Authorization": f"Bearer {expert.token}"}
    base = f"/api/v1/assignments/{page['assignment']['id']}"
    if render == "page":
        yield "render", "GET", f"/annotate/{page['assignment']['id']}", None, {"Cookie": expert.cookie}
    else:
        yield "render", "GET", f"{base}/draft", None, bearer
    yield "draft", "PUT", f"{base}/draft", judgement(page, complete=False), bearer
    yield "submit", "POST", f"{base}/submit", judgement(page, complete=True), {**bearer, "Idempotency-Key": uuid.uuid4().hex}


def timed(result: Result, step: str, conn: http.client.HTTPConnection, method: str, path: str, body: Any,
          headers: dict[str, str], ok: tuple[int, ...] = (200,)) -> tuple[int, bytes]:
    started = time.perf_counter()
    try:
        status, data, _ = request(conn, method, path, body, headers)
    except (OSError, http.client.HTTPException):
        conn.close()
        status, data = 599, b""
    result.add(step, (time.perf_counter() - started) * 1000, status in ok)
    return status, data


def pause(stop: threading.Event, think: float, rng: random.Random, *, start: bool = False) -> None:
    """Think for ``think`` seconds give or take half (people do not move in lock step); at the
    start, wait a random part of one think so the experts do not all claim in the same instant."""
    if think > 0:
        stop.wait(rng.uniform(0, think) if start else think * rng.uniform(0.5, 1.5))


def judgement(page: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """A plausible judgement of the claimed task: A preferred and scored higher."""
    a, b = (answer["completion_id"] for answer in page["answers"])
    keys = [c["key"] for c in page["rubric"]["criteria"]]
    body: dict[str, Any] = {"preference": -2, "confidence": 4, "scores": {str(a): {k: 4 for k in keys}},
                            "critiques": {str(a): "Uses the after-tax cost of debt; shows the working."}}
    if complete:
        body["scores"][str(b)] = {k: 2 for k in keys}
        body["critiques"][str(b)] = "Plugs the pre-tax 6.5% into WACC, overstating it by ~50bp."
        body["rewrite"] = page["answers"][0]["text"] + "\n\nNext step: rerun the DCF at 8.8%."
        body["rewrite_source_id"] = a
        body["flags"] = ["factual_error"]
    return body


def print_verdict(figures: dict[str, Any], args: argparse.Namespace) -> None:
    """One line per engine and phase: each target met or missed."""
    for engine in args.engines:
        for think in args.think:
            prefix = f"{engine}_think{think}"
            marks = []
            for step, target in TARGETS_MS.items():
                value = figures.get(f"{prefix}_{step}_p95_ms")
                marks.append(f"{step} p95 {value} ms {'<=' if value is not None and value <= target else '>'} {target:g}")
            print(f"[{engine} think={think}ms] {figures.get(f'{prefix}_loops_per_s')} loops/s; " + "; ".join(marks), flush=True)


# --- content ------------------------------------------------------------------------------------

QUESTION = ("Inputs: 10y UST 4.2%, ERP 5.5%, levered beta 1.15, pre-tax cost of debt 6.5%, tax 25%, "
            "target D/(D+E) 30%. The MD wants a one-line explanation of why we don't plug in the 6.5%.")
INSTRUCTIONS = """## What you are judging

Two answers to an analyst's question. Recompute the key figures, score each criterion, then give
your preference on the 7-point scale and write a short critique of each answer.
"""


def answer_text(rng: random.Random, n: int, side: int) -> str:
    """A ~1.5 kB Markdown answer with a table and a list, different for every completion."""
    re_ = 4.2 + 1.15 * 5.5
    rd = 6.5 * (0.75 if side == 0 else 1.0)
    wacc = 0.7 * re_ + 0.3 * rd
    rows = "\n".join(f"| Scenario {k} | {wacc + rng.uniform(-0.5, 0.5):.2f}% | {rng.randint(5, 15)}x |" for k in range(1, 5))
    return (f"**WACC for deal {n}: {wacc:.2f}%**\n\n"
            f"1. Cost of equity = 4.2% + 1.15 x 5.5% = {re_:.2f}%\n"
            f"2. Cost of debt used: {rd:.3f}% ({'after' if side == 0 else 'before'} tax)\n"
            f"3. WACC = 70% x {re_:.2f}% + 30% x {rd:.3f}% = {wacc:.2f}%\n\n"
            "| Case | WACC | EV/EBITDA |\n|---|---|---|\n" + rows + "\n\n"
            + ("The interest tax shield must come through the discount rate because unlevered free cash flow "
               "is taxed as if the firm had no debt. " if side == 0 else
               "The tax shield is already in the cash flows, so the pre-tax rate is fine. ")
            + "Sensitivity: each 25bp on WACC moves EV by roughly 4-5% for a 2.5% terminal growth rate. "
            + "```python\nwacc = 0.7 * re + 0.3 * rd\n```\n" + "Check the new-issue yield against recent BBB- prints. " * 3)


if __name__ == "__main__":
    raise SystemExit(main())
