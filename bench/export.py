"""Export speed and memory: 1,000,000 judgements to ``trl`` JSONL on SQLite and on PostgreSQL.

For each engine it creates a fresh database (a temp SQLite file, or a PostgreSQL schema dropped
afterwards), migrates it, bulk-seeds pairwise tasks with two judgements each (executemany on
SQLite, COPY on PostgreSQL), then runs ``rlhf_app.export.service.run_export`` in a child process
so that the peak RSS is the export's own. It prints figures as it goes and, as its last line,
one JSON object. Targets (DESIGN.md §7): ≤ 15 s and ≤ 300 MB peak for 1,000,000 judgements.

    .venv/bin/python bench/export.py [--judgements 1000000] [--engines sqlite,postgresql]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--answer-chars 400]
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import scratch_database  # noqa: E402

TARGET_SECONDS, TARGET_RSS_MB = 15.0, 300.0
EXPERTS, BATCH = 40, 50_000
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
WORDS = ("margin cash flow discount rate covenant leverage equity beta terminal growth revenue cost capital "
         "working liquidity hedge duration spread coupon yield maturity EBITDA multiple synergy").split()


def rss_mb() -> float:
    """Peak RSS of this process in MB.

    ``getrusage`` keeps the parent's high-water mark across fork and exec on Linux, so the
    export child would report the seeding parent's size; /proc's VmHWM starts afresh at exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def say(message: str) -> None:
    print(message, flush=True)


# --- seeding -------------------------------------------------------------------------------------

def text_of(rng: random.Random, chars: int) -> str:
    words, size = [], 0
    while size < chars:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


class Seeder:
    """Generates the rows of ``tasks`` pairwise tasks with two judgements each, table by table."""

    def __init__(self, tasks: int, project_id: int, expert_ids: list[int], answer_chars: int, sqlite: bool) -> None:
        self.tasks, self.project_id, self.experts = tasks, project_id, expert_ids
        self.answer_chars, self.sqlite = answer_chars, sqlite
        self.when: Any = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else NOW

    def prompts(self) -> Iterator[tuple]:
        rng = random.Random(1)
        for t in range(1, self.tasks + 1):
            messages = json.dumps([{"role": "user", "content": f"Q{t}: " + text_of(rng, 120)}])
            yield (t, self.project_id, f"p-{t}", messages, "[]", "{}", None, hashlib.sha256(messages.encode()).hexdigest(),
                   self.when)

    def completions(self) -> Iterator[tuple]:
        rng = random.Random(2)
        for t in range(1, self.tasks + 1):
            for side in (0, 1):
                text = text_of(rng, self.answer_chars)
                yield (2 * t - 1 + side, t, f"model-{side}", text, "imported", "{}", f"h{t}-{side}", self.when)

    def task_rows(self) -> Iterator[tuple]:
        for t in range(1, self.tasks + 1):
            yield (t, self.project_id, t, f"sig-{t}", False, None, None, None, "complete", 2, self.when)

    def task_items(self) -> Iterator[tuple]:
        for t in range(1, self.tasks + 1):
            yield (t, 0, 2 * t - 1)
            yield (t, 1, 2 * t)

    def _pair(self, t: int) -> tuple[int, int]:
        first = (t * 7) % EXPERTS
        return self.experts[first], self.experts[(first + 1 + t % (EXPERTS - 1)) % EXPERTS]

    def assignments(self) -> Iterator[tuple]:
        for t in range(1, self.tasks + 1):
            for k, expert in enumerate(self._pair(t)):
                yield (2 * t - 1 + k, t, expert, "[0, 1]" if k else "[1, 0]", "submitted", None, None, self.when,
                       self.when, self.when, 60 + t % 300)

    def judgements(self) -> Iterator[tuple]:
        rng = random.Random(3)
        for t in range(1, self.tasks + 1):
            base = rng.choice((-3, -2, -1, 1, 2, 3))
            for k, expert in enumerate(self._pair(t)):
                preference = max(-3, min(3, base + rng.choice((-1, 0, 0, 1))))
                rewrite = text_of(rng, self.answer_chars) if rng.random() < 0.05 else None
                yield (2 * t - 1 + k, 2 * t - 1 + k, t, expert, "submitted", preference, None, 4, "{}", "{}", rewrite,
                       2 * t - 1 if rewrite else None, "[]", 1, 60 + t % 300, 1, None, self.when, self.when, self.when)


COLUMNS = {
    "prompts": "id, project_id, external_id, messages, tags, metadata, gold, content_hash, created_at",
    "completions": "id, prompt_id, model_name, text, source, generation, content_hash, created_at",
    "tasks": "id, project_id, prompt_id, signature, is_gold, gold_preference, gold_ranking, gold_explanation, status, "
             "submitted_count, created_at",
    "task_items": "task_id, position, completion_id",
    "assignments": "id, task_id, expert_id, display_order, status, skip_reason, skip_note, claimed_at, lease_expires_at, "
                   "submitted_at, active_seconds",
    "judgements": "id, assignment_id, task_id, expert_id, status, preference, ranking, confidence, rubric_scores, critiques, "
                  "rewrite, rewrite_source_id, flags, guideline_version, active_seconds, revision, idempotency_key, "
                  "created_at, updated_at, submitted_at",
}


def seed_accounts(engine: sa.Engine) -> tuple[int, list[int]]:
    """A workspace, a pairwise project with its guideline, and the experts (through the ORM)."""
    from rlhf_app.db import make_sessionmaker
    from rlhf_app.models import GuidelineVersion, Project, Role, TaskKind, User, Workspace

    with make_sessionmaker(engine)() as session:
        workspace = Workspace(slug="bench", name="Bench")
        project = Project(workspace=workspace, slug="bench", name="Bench", domain="finance", kind=TaskKind.pairwise,
                          judgements_per_task=2)
        session.add(project)
        session.flush()
        session.add(GuidelineVersion(project_id=project.id, version=1, instructions="", rubric={}, content_hash="x"))
        experts = [User(email=f"e{n}@bench.test", name=f"E{n}", role=Role.expert, password_hash="x") for n in range(EXPERTS)]
        session.add_all(experts)
        session.commit()
        return project.id, [e.id for e in experts]


def bulk_insert(engine: sa.Engine, seeder: Seeder) -> None:
    tables = (("prompts", seeder.prompts), ("completions", seeder.completions), ("tasks", seeder.task_rows),
              ("task_items", seeder.task_items), ("assignments", seeder.assignments), ("judgements", seeder.judgements))
    raw = engine.raw_connection()
    if seeder.sqlite:  # the app's connections autocommit each statement; seed in one transaction
        raw.cursor().execute("PRAGMA synchronous=OFF")
        raw.cursor().execute("BEGIN")
    else:  # the app's 30 s statement timeout is for requests, not for a million-row COPY
        raw.cursor().execute("SET statement_timeout = 0")
    try:
        for table, rows in tables:
            started = time.perf_counter()
            count = (_sqlite_insert if seeder.sqlite else _pg_copy)(raw, table, rows())
            say(f"  seeded {table:<12} {count:>9,} rows in {time.perf_counter() - started:5.1f} s")
        raw.commit()
    finally:
        raw.close()


def _sqlite_insert(raw: Any, table: str, rows: Iterator[tuple]) -> int:
    columns = COLUMNS[table]
    statement = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * (columns.count(',') + 1))})"
    cursor, count = raw.cursor(), 0
    while True:
        batch = [row for _, row in zip(range(BATCH), rows)]
        if not batch:
            return count
        cursor.executemany(statement, batch)
        count += len(batch)


def _pg_copy(raw: Any, table: str, rows: Iterator[tuple]) -> int:
    count = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- the timed export (child process) ---------------------------------------------------------

def run_child(url: str, export_dir: str) -> dict[str, Any]:
    """Export project ``bench`` to ``trl`` and report time, throughput and peak RSS."""
    from rlhf_app.db import create_db_engine, make_sessionmaker
    from rlhf_app.export.options import ExportOptions
    from rlhf_app.export.service import run_export
    from rlhf_app.projects.service import get_project

    engine = create_db_engine(url)
    baseline = rss_mb()
    started = time.perf_counter()
    done = {"n": 0, "next": 100_000}

    def progress(n: int) -> None:
        done["n"] += n
        if done["n"] >= done["next"]:
            done["next"] += 100_000
            elapsed = time.perf_counter() - started
            say(f"    {done['n']:>9,} judgements  {elapsed:6.2f} s  {done['n'] / elapsed:>9,.0f}/s  peak RSS {rss_mb():6.1f} MB")

    with make_sessionmaker(engine)() as session:
        run = run_export(session, get_project(session, "bench"), ExportOptions(format="trl"), export_dir=Path(export_dir),
                         actor=None, now=dt.datetime.now(dt.timezone.utc), progress=progress)
        session.commit()
    seconds = time.perf_counter() - started
    counts = run.row_counts
    rows = counts["train"] + counts["test"]
    size = sum(f["bytes"] for f in run.files.values())
    return {"seconds": round(seconds, 2), "judgements": counts["judgements"], "rows": rows,
            "judgements_per_s": round(counts["judgements"] / seconds), "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(rss_mb(), 1), "rss_before_export_mb": round(baseline, 1),
            "rusage_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "output_mb": round(size / 2**20, 1)}


def timed_export(url: str, export_dir: Path) -> dict[str, Any]:
    """Run the export in a fresh interpreter and relay its progress lines."""
    child = subprocess.Popen([sys.executable, __file__, "--child", url, str(export_dir)], stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = {}
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("{"):
            result = json.loads(line)
        else:
            print(line, end="", flush=True)
    if child.wait() != 0:
        raise RuntimeError(f"the export child failed with exit code {child.returncode}")
    return result


# --- engines ---------------------------------------------------------------------------------

def prepare(url: str, tasks: int, answer_chars: int) -> float:
    from rlhf_app import migrate
    from rlhf_app.db import create_db_engine

    engine = create_db_engine(url)
    try:
        migrate.upgrade(engine)
        started = time.perf_counter()
        project_id, experts = seed_accounts(engine)
        bulk_insert(engine, Seeder(tasks, project_id, experts, answer_chars, engine.dialect.name == "sqlite"))
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        return time.perf_counter() - started
    finally:
        engine.dispose()


def bench_sqlite(tasks: int, answer_chars: int, work: Path) -> dict[str, Any]:
    url = f"sqlite:///{work / 'bench.sqlite3'}"
    seed_seconds = prepare(url, tasks, answer_chars)
    say(f"  seeded in {seed_seconds:.1f} s; exporting")
    return {"seed_seconds": round(seed_seconds, 1), **timed_export(url, work / "exports-sqlite")}


def bench_postgresql(pg_url: str, tasks: int, answer_chars: int, work: Path) -> dict[str, Any]:
    with scratch_database(pg_url, "bench_export") as url:
        seed_seconds = prepare(url, tasks, answer_chars)
        say(f"  seeded in {seed_seconds:.1f} s; exporting")
        return {"seed_seconds": round(seed_seconds, 1), **timed_export(url, work / "exports-pg")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgements", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("RLHF_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--answer-chars", type=int, default=400, help="Length of each answer and rewrite.")
    parser.add_argument("--child", nargs=2, metavar=("URL", "EXPORT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(*args.child)), flush=True)
        return
    figures: dict[str, Any] = {"judgements": args.judgements}
    with tempfile.TemporaryDirectory(prefix="rlhf-bench-export-") as tmp:
        for engine in args.engines.split(","):
            say(f"{engine}: seeding {args.judgements:,} judgements ({args.judgements // 2:,} tasks, 2 judgements each)")
            run = bench_sqlite if engine == "sqlite" else lambda *a: bench_postgresql(args.pg_url, *a)
            result = run(args.judgements // 2, args.answer_chars, Path(tmp))
            say(f"{engine}: {result['seconds']:.2f} s, {result['judgements_per_s']:,} judgements/s, "
                f"{result['rows']:,} rows ({result['output_mb']} MB), peak RSS {result['peak_rss_mb']} MB")
            figures.update({f"{engine}_{key}": value for key, value in result.items()})
            shutil.rmtree(Path(tmp) / ("exports-sqlite" if engine == "sqlite" else "exports-pg"), ignore_errors=True)
    engines = args.engines.split(",")
    figures["meets_targets"] = all(figures[f"{e}_seconds"] <= TARGET_SECONDS and figures[f"{e}_peak_rss_mb"] <= TARGET_RSS_MB
                                   for e in engines)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
