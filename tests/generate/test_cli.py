"""``rlhf generate``, ``rlhf completions import`` and ``rlhf models`` through the CLI runner."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from rlhf_app.models import AuditEvent, Completion, GenerationJob, Project

from .. import factories
from .llm_server import Reply


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_generate_prints_progress_and_a_one_line_summary(runner, session, gen_project, llm_server):
    llm_server.rule("question 4", Reply(status=400))
    result = runner.invoke(args=["generate", "--project", gen_project.slug, "--model", "local-a", "--model", "local-b"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith(f"{gen_project.slug}: 10 of 12 completions generated (0 cut at max_tokens), 2 failed, 0 not attempted")
    assert "failed: local-a on q4: HTTP 400" in result.stdout and "failed: local-b on q4: HTTP 400" in result.stdout
    assert "12/12" in result.stderr and "req/s" in result.stderr  # tqdm: count, rate
    assert count(session, Completion) == 10


def test_generate_dry_run_prints_the_request_and_token_estimate(runner, session, gen_project, llm_server):
    result = runner.invoke(args=["generate", "--project", gen_project.slug, "--model", "local-a", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "characters / 4" in result.stdout and "6 requests, about" in result.stdout
    assert '"messages":[{"role":"user","content":"question 0"}]' in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith(f"{gen_project.slug}: dry run, would send 6 requests")
    assert llm_server.requests == [] and count(session, GenerationJob) == 0


def test_generate_refuses_an_endpoint_outside_the_allow_list(app, runner, session, gen_project, llm_server):
    app.config["GENERATION_ALLOWED_HOSTS"] = "api.openai.com"
    result = runner.invoke(args=["generate", "--project", gen_project.slug, "--model", "local-a"])
    assert result.exit_code != 0 and "not in GENERATION_ALLOWED_HOSTS" in result.output
    assert llm_server.requests == []


def test_generate_names_unknown_projects_and_models(runner, gen_project):
    assert "no project 'nope'" in runner.invoke(args=["generate", "--project", "nope", "--model", "x"]).output
    result = runner.invoke(args=["generate", "--project", gen_project.slug, "--model", "x"])
    assert result.exit_code != 0 and "unknown model(s) x; registered: local-a, local-b" in result.output


def _write(path, rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_completions_import_adds_rows_and_is_idempotent(runner, session, gen_project, tmp_path):
    file = _write(tmp_path / "c.jsonl", [{"prompt_id": f"q{i}", "model": "elsewhere", "text": f"answer {i}"} for i in range(6)])
    result = runner.invoke(args=["completions", "import", file, "--project", gen_project.slug])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{gen_project.slug}: 6 completions imported (0 unchanged) from {file}."
    again = runner.invoke(args=["completions", "import", file, "--project", gen_project.slug])
    assert "0 completions imported (6 unchanged)" in again.stdout and count(session, Completion) == 6


def test_completions_import_reports_every_bad_line_and_imports_nothing(runner, session, gen_project, tmp_path):
    file = _write(tmp_path / "bad.jsonl", [
        {"prompt_id": "q0", "model": "m", "text": "fine"},
        '{"prompt_id": "q1", ',
        {"prompt_id": "q2", "model": "m", "text": "nul \u0000 here"},
        {"prompt_id": "q0", "model": "m", "text": "again"},
        {"prompt_id": "q3", "model": "m", "text": "x", "score": 3},
    ])
    result = runner.invoke(args=["completions", "import", file, "--project", gen_project.slug])
    assert result.exit_code != 0
    for fragment in (f"{file}:2: not valid JSON", f"{file}:3: 'text' contains a NUL", f"{file}:5: unknown field 'score'"):
        assert fragment in result.output
    assert count(session, Completion) == 0


def test_completions_import_rejects_unknown_prompts_and_duplicates(runner, session, gen_project, tmp_path):
    file = _write(tmp_path / "c.jsonl", [{"prompt_id": "q0", "model": "m", "text": "a"}, {"prompt_id": "q0", "model": "m", "text": "b"},
                                         {"prompt_id": "zz", "model": "m", "text": "c"}])
    result = runner.invoke(args=["completions", "import", file, "--project", gen_project.slug])
    assert result.exit_code != 0 and f"{file}:2: model 'm' already has a completion for 'q0' ({file}:1)" in result.output
    file = _write(tmp_path / "d.jsonl", [{"prompt_id": "zz", "model": "m", "text": "c"}])
    result = runner.invoke(args=["completions", "import", file, "--project", gen_project.slug])
    assert result.exit_code != 0 and "prompt_id 'zz' is not a prompt of" in result.output
    assert count(session, Completion) == 0


def test_models_add_list_and_remove(app, runner, session, tmp_path):
    app.config["GENERATION_ALLOWED_HOSTS"] = "vllm.internal:8000"
    project = factories.make_project(session)
    session.commit()
    result = runner.invoke(args=["models", "add", "--project", project.slug, "--name", "gpt", "--base-url", "https://api.openai.com/v1",
                                 "--model", "gpt-4o-mini", "--api-key-env", "OPENAI_API_KEY", "--max-tokens", "512",
                                 "--param", "temperature=0.7", "--param", "seed=3"])
    assert result.exit_code == 0, result.output
    assert "warning: api.openai.com:443 is not in GENERATION_ALLOWED_HOSTS" in result.stdout
    session.rollback()  # end the read snapshot, then reload
    session.expire_all()
    assert session.get(Project, project.id).models == [{"name": "gpt", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini",
                                                        "params": {"temperature": 0.7, "seed": 3}, "api_key_env": "OPENAI_API_KEY", "max_tokens": 512}]
    listed = runner.invoke(args=["models", "list", "--project", project.slug]).stdout
    assert "gpt" in listed and "OPENAI_API_KEY" in listed and listed.strip().endswith("1 models.")
    assert count(session, AuditEvent) == 1
    duplicate = runner.invoke(args=["models", "add", "--project", project.slug, "--name", "gpt", "--base-url", "https://x.test/v1", "--model", "m"])
    assert duplicate.exit_code != 0 and "already registered" in duplicate.output
    assert runner.invoke(args=["models", "remove", "--project", project.slug, "--name", "gpt"]).exit_code == 0
    session.rollback()  # end the read snapshot, then reload
    session.expire_all()
    assert session.get(Project, project.id).models == []


def test_models_add_refuses_a_key_in_place_of_its_variable_name(runner, session):
    project = factories.make_project(session)
    session.commit()
    result = runner.invoke(args=["models", "add", "--project", project.slug, "--name", "gpt", "--base-url", "https://api.openai.com/v1",
                                 "--model", "gpt-4o-mini", "--api-key-env", "sk-proj-abc123"])
    assert result.exit_code != 0 and "NAME of an environment variable" in result.output
    assert "sk-proj-abc123" not in result.output


def test_ctrl_c_stops_rlhf_generate_cleanly_and_a_rerun_finishes(session, llm_server, allowed, database_url):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from .conftest import model_entry

    project = factories.make_project(session, models=[model_entry(llm_server)])
    for i in range(60):
        factories.make_prompt(session, project, messages=[{"role": "user", "content": f"p{i}"}])
    session.commit()
    llm_server.delay = 0.05
    env = {**os.environ, "RLHF_DATABASE_URL": database_url, "RLHF_GENERATION_ALLOWED_HOSTS": allowed}
    command = [str(Path(sys.executable).with_name("rlhf")), "generate", "--project", project.slug, "--model", "local-a", "--concurrency", "2"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while count(session, Completion) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    stored = count(session, Completion)
    assert 10 <= stored < 60
    assert out.strip().splitlines()[-1].startswith(f"{project.slug}: {stored} of 60 completions generated")
    assert "interrupted: run the same command again" in out and "Traceback" not in err
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{60 - stored} of {60 - stored} completions generated" in rerun.stdout
    assert count(session, Completion) == 60
