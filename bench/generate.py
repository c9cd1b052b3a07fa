"""Generation throughput: 2,000 chat completions at 64 in flight against a local endpoint that
answers after a fixed 50 ms, through the real path (``generate_completions``: the openai client,
the allow-list transport, retries, the writer thread committing to SQLite or PostgreSQL).

The endpoint runs in a child process (a minimal asyncio HTTP/1.1 server, so that it costs far less
CPU than the client it measures). Figures: throughput against the ideal 64 / 0.05 s = 1,280 req/s,
and the overhead per request beyond the endpoint's 50 ms, both as the client saw each request
(``latency_ms`` recorded with each completion, minus 50) and per slot (64 / throughput - 50 ms,
which includes scheduling and storing). It prints figures as it goes and, as its last line, one
JSON object. Targets (DESIGN.md §7): >= 90 % of the ideal rate and <= 2 ms overhead per request.

    .venv/bin/python bench/generate.py [--requests 2000] [--in-flight 64] [--delay-ms 50]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import scratch_database  # noqa: E402

ANSWER = " ".join(["The WACC is the weighted average of the cost of equity and the after-tax cost of debt."] * 6)


# --- the endpoint (child process) ----------------------------------------------------------------

class _Endpoint(asyncio.Protocol):
    """Answers each POST with a fixed chat completion after ``delay`` seconds, keep-alive."""

    def __init__(self, delay: float, body: bytes) -> None:
        self.delay, self.buffer, self.transport = delay, b"", None
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            asyncio.get_running_loop().call_later(self.delay, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.response)


def serve(port: int, delay: float) -> None:
    body = json.dumps({"id": "bench", "object": "chat.completion", "created": 0, "model": "bench",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
                       "usage": {"prompt_tokens": 20, "completion_tokens": 120, "total_tokens": 140}}).encode()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: _Endpoint(delay, body), "127.0.0.1", port, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def start_endpoint(delay: float) -> tuple[subprocess.Popen, int]:
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--delay-ms", str(delay * 1000)], stdout=subprocess.PIPE, text=True)
    return child, int(child.stdout.readline())


# --- the client (this process) -------------------------------------------------------------------

def seed(database_url: str, requests: int, base_url: str, in_flight: int):
    from rlhf_app.db import Base, create_db_engine, make_sessionmaker
    from rlhf_app.models import Project, Prompt, TaskKind, Workspace

    engine = create_db_engine(database_url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    model = {"name": "bench", "base_url": base_url, "model": "bench-model", "max_tokens": 256, "max_in_flight": in_flight,
             "params": {"temperature": 0.7}, "timeout_seconds": 30}
    with factory() as session:
        workspace = Workspace(slug="bench", name="Bench")
        project = Project(workspace=workspace, slug="bench-generate", name="Bench", domain="finance", kind=TaskKind.pairwise, models=[model])
        session.add(project)
        session.flush()
        session.add_all(Prompt(project_id=project.id, external_id=f"b{i}", messages=[{"role": "user", "content": f"Question {i}: explain WACC."}],
                               tags=[], meta={}, content_hash=f"{i:064d}") for i in range(requests))
        session.commit()
    return engine, factory, project


class Reporter:
    """Prints the running rate every ``every`` requests."""

    def __init__(self, every: int) -> None:
        self.every, self.started = every, time.perf_counter()

    def __call__(self, update) -> None:
        if update.done and update.done % self.every == 0:
            elapsed = time.perf_counter() - self.started
            print(f"  {update.done:>5} / {update.total} done in {elapsed:6.2f} s: {update.done / elapsed:7.1f} req/s", flush=True)


def figures(factory, requests: int, in_flight: int, delay: float, seconds: float, completed: int, failed: int) -> dict:
    from sqlalchemy import select

    from rlhf_app.models import Completion

    with factory() as session:
        latencies = [g["latency_ms"] for g in session.scalars(select(Completion.generation))]
    ideal = in_flight / delay
    throughput = completed / seconds
    overheads = sorted(latency - delay * 1000 for latency in latencies)
    return {
        "requests": requests, "in_flight": in_flight, "endpoint_ms": delay * 1000, "completed": completed, "failed": failed,
        "seconds": round(seconds, 3), "throughput_rps": round(throughput, 1), "ideal_rps": round(ideal, 1),
        "pct_of_ideal": round(100 * throughput / ideal, 1),
        "overhead_ms_mean": round(statistics.fmean(overheads), 2), "overhead_ms_p50": round(overheads[len(overheads) // 2], 2),
        "overhead_ms_p95": round(overheads[int(len(overheads) * 0.95)], 2),
        "overhead_ms_per_slot": round(in_flight / throughput * 1000 - delay * 1000, 2),
        "target_pct_of_ideal": 90, "target_overhead_ms": 2,
    }


def run(args: argparse.Namespace) -> dict:
    from rlhf_app.generate.service import generate_completions

    delay = args.delay_ms / 1000
    child, port = start_endpoint(delay)
    try:
        with scratch_database(args.database_url, "bench_generate") as database_url:
            engine, factory, project = seed(database_url, args.requests, f"http://127.0.0.1:{port}/v1", args.in_flight)
            print(f"endpoint on 127.0.0.1:{port} answering after {args.delay_ms:g} ms; {args.requests} prompts in {engine.dialect.name}", flush=True)
            load_before = os.getloadavg()[0]  # other work on the machine skews the figures; say how much there was
            started = time.perf_counter()
            result = generate_completions(factory, project, ["bench"], concurrency=args.in_flight, allowed_hosts=f"127.0.0.1:{port}",
                                          env={}, progress=Reporter(max(1, args.requests // 8)))
            seconds = time.perf_counter() - started
            data = figures(factory, args.requests, args.in_flight, delay, seconds, result.counts.completed, result.counts.failed)
            data["database"] = engine.dialect.name
            data["cpus"], data["loadavg_1m_before"] = os.cpu_count(), round(load_before, 2)
            engine.dispose()  # its connections would keep the schema from being dropped
            return data
    finally:
        child.terminate()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--database-url", default=os.environ.get("RLHF_BENCH_DATABASE_URL"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(0, args.delay_ms / 1000)
        return
    data = run(args)
    print(f"throughput {data['throughput_rps']} req/s = {data['pct_of_ideal']} % of the ideal {data['ideal_rps']} "
          f"(target >= 90 %); overhead per request beyond {args.delay_ms:g} ms: mean {data['overhead_ms_mean']} ms, "
          f"p95 {data['overhead_ms_p95']} ms, per slot {data['overhead_ms_per_slot']} ms (target <= 2 ms)", flush=True)
    print(json.dumps(data))


if __name__ == "__main__":
    main()
