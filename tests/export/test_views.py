"""The lab's export page, file downloads, the streaming API and the CLI, over HTTP and click."""
from __future__ import annotations

import pytest

from rlhf_app.auth.tokens import create_token
from rlhf_app.export.options import ExportOptions
from rlhf_app.export.service import open_stream
from rlhf_app.models import ExportRun, Role

from .conftest import GOLDEN_SPLIT

FORM = {"project": "golden", "format": "trl", "aggregate": "mean", "tie_threshold": "0.5", "seed": "1",
        "test_fraction": "0.4", "margin": "1"}


@pytest.fixture
def lab(login_as, golden):
    """A lab user of the golden project's workspace, signed in."""
    return login_as(Role.lab, workspace_id=golden.workspace_id)


@pytest.fixture
def stranger(login_as, golden):
    """A lab user of another workspace, signed in."""
    return login_as(Role.lab)


def fetch(client, url: str, **kwargs):
    """GET and close the response (file responses hold an open file until closed)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
        return response


def bearer(session, user) -> dict[str, str]:
    _, secret = create_token(session, user, "export test")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_lab_starts_an_export_from_the_page(lab, session, app, tmp_path):
    client, user = lab
    response = client.post("/exports/", data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith("/exports/")
    run = session.query(ExportRun).one()
    assert run.created_by_id == user.id and run.parameters["margin"] is True and run.parameters["test_fraction"] == 0.4
    assert (tmp_path / "exports" / run.folder / "train.jsonl").is_file()
    page = client.get("/exports/").get_data(as_text=True)
    assert "Exported" in page and run.folder in page


def test_page_lists_exports_with_the_rendered_card_and_file_links(lab, export_to, golden):
    client, _ = lab
    run, _ = export_to(golden, format="hh-rlhf")
    page = client.get("/exports/").get_data(as_text=True)
    assert "<h2>How the data was collected</h2>" in page and "<h2>Agreement</h2>" in page
    assert "configs:" not in page  # the YAML header is not shown as text
    for name in ("train.jsonl", "test.jsonl", "README.md", "manifest.json"):
        assert f"/exports/{run.id}/files/{name}" in page


def test_card_text_is_sanitised_on_the_page(login_as, session, export_to):
    from .scenario import add_task, judge, make_experts, make_golden_project

    project = make_golden_project(session, name="<script>alert(1)</script> [x](javascript:alert(2))")
    task = add_task(session, project, "x-1", [{"role": "user", "content": "Q"}], ("A", "B"))
    judge(session, task, make_experts(session)[0], -3)
    session.commit()
    export_to(project, format="trl")
    client, _ = login_as(Role.lab, workspace_id=project.workspace_id)
    page = client.get("/exports/").get_data(as_text=True)
    assert "<script>alert(1)" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert(1)" in page  # shown as text where it is a name


def test_download_serves_the_exact_file(lab, export_to, golden, tmp_path):
    client, _ = lab
    run, folder = export_to(golden, format="trl", **GOLDEN_SPLIT)
    response = fetch(client, f"/exports/{run.id}/files/train.jsonl")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert response.data == (folder / "train.jsonl").read_bytes()
    assert "attachment" in response.headers["Content-Disposition"]
    assert fetch(client, f"/exports/{run.id}/files/manifest.json").mimetype == "application/json"


@pytest.mark.parametrize("name", ["secret.txt", "..", "..%2F..%2Fetc%2Fpasswd", "%2E%2E%2Fmanifest.json",
                                  "train.jsonl%00", "README.MD"])
def test_download_accepts_only_allow_listed_names(lab, export_to, golden, name):
    client, _ = lab
    run, _ = export_to(golden, format="trl")
    assert client.get(f"/exports/{run.id}/files/{name}").status_code == 404


def test_download_of_a_file_missing_on_disk_is_404(lab, export_to, golden):
    client, _ = lab
    run, folder = export_to(golden, format="trl")
    (folder / "test.jsonl").unlink()
    assert client.get(f"/exports/{run.id}/files/test.jsonl").status_code == 404
    assert client.get("/exports/999999/files/train.jsonl").status_code == 404


def test_lab_of_another_workspace_gets_404_everywhere(stranger, export_to, golden, session):
    client, user = stranger
    run, _ = export_to(golden, format="trl")
    page = client.get("/exports/").get_data(as_text=True)
    assert run.folder not in page and "golden" not in page
    assert client.get(f"/exports/{run.id}/files/train.jsonl").status_code == 404
    assert client.post("/exports/", data=FORM).status_code == 404
    assert session.query(ExportRun).count() == 1
    api = fetch(client, "/api/v1/projects/golden/export?format=trl")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    token_api = fetch(client, "/api/v1/projects/golden/export?format=trl", headers=bearer(session, user))
    assert token_api.status_code == 404


@pytest.mark.parametrize("role, status", [(Role.expert, 403), (Role.reviewer, 403)])
def test_only_labs_and_admins_use_the_export_page(login_as, golden, role, status):
    client, _ = login_as(role)
    assert client.get("/exports/").status_code == status


def test_admin_sees_every_workspace_export(login_as, export_to, golden):
    run, _ = export_to(golden, format="trl")
    client, _ = login_as(Role.admin)
    assert run.folder in client.get("/exports/").get_data(as_text=True)
    assert fetch(client, f"/exports/{run.id}/files/README.md").status_code == 200


def test_form_without_csrf_token_is_refused(lab, session):
    client, _ = lab
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert client.post("/exports/", data=FORM).status_code == 400
    assert session.query(ExportRun).count() == 0


@pytest.mark.parametrize("field, value", [("format", "csv"), ("test_fraction", "1"), ("seed", "-1"),
                                          ("since", "yesterday"), ("project", "")])
def test_bad_form_values_answer_422_naming_the_field(lab, session, field, value):
    client, _ = lab
    response = client.post("/exports/", data={**FORM, field: value})
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
    assert session.query(ExportRun).count() == 0


# --- API ---------------------------------------------------------------------------------------

def test_api_streams_the_same_rows_as_the_service(lab, golden, session):
    client, user = lab
    response = fetch(client, "/api/v1/projects/golden/export?format=trl&margin=true&seed=1&test_fraction=0.4",
                          headers=bearer(session, user))
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    expected = b"".join(open_stream(session, golden, ExportOptions(format="trl", margin=True, **GOLDEN_SPLIT)))
    assert response.data == expected and response.data.count(b"\n") == 3


def test_api_streams_one_split_on_request(lab, golden, session):
    client, user = lab
    response = fetch(client, "/api/v1/projects/golden/export?format=sft&split=test&seed=1&test_fraction=0.4",
                          headers=bearer(session, user))
    expected = b"".join(open_stream(session, golden, ExportOptions(format="sft", **GOLDEN_SPLIT), "test"))
    assert response.data == expected


@pytest.mark.parametrize("query, field", [("format=csv", "format"), ("", "format"), ("format=trl&split=dev", "split"),
                                          ("format=trl&aggregate=median", "aggregate")])
def test_api_refuses_bad_options_with_422(lab, golden, session, query, field):
    client, user = lab
    response = fetch(client, f"/api/v1/projects/golden/export?{query}", headers=bearer(session, user))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]


def test_api_needs_a_token_or_session(client, golden):
    assert fetch(client, "/api/v1/projects/golden/export?format=trl").status_code == 401


def test_openapi_documents_the_export_endpoint(client):
    document = fetch(client, "/api/v1/openapi.json").get_json()
    operation = document["paths"]["/projects/{slug}/export"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"slug", "format", "split", "aggregate", "min_gold_accuracy", "seed", "test_fraction"} <= names
    assert "application/x-ndjson" in operation["responses"]["200"]["content"]


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_exports_and_prints_a_one_line_summary(runner, golden, session, tmp_path):
    result = runner.invoke(args=["export", "--project", "golden", "--format", "trl", "--margin", "--with-rewrites",
                                 "--seed", "1", "--test-fraction", "0.4", "--since", "2026-01-01"])
    assert result.exit_code == 0, result.output
    run = session.query(ExportRun).one()
    assert run.parameters["since"] == "2026-01-01" and run.parameters["with_rewrites"] is True
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("golden: 4 train + 3 test rows of trl from 10 judgements by 3 experts")
    assert (tmp_path / "exports" / run.folder / "manifest.json").is_file()


@pytest.mark.parametrize("args, message", [
    (["--project", "nope", "--format", "trl"], "no project 'nope'"),
    (["--project", "golden", "--format", "trl", "--test-fraction", "2"], "test_fraction"),
    (["--project", "golden", "--format", "csv"], "Invalid value for '--format'"),
])
def test_cli_errors_exit_non_zero_with_a_message(runner, golden, args, message):
    result = runner.invoke(args=["export", *args])
    assert result.exit_code != 0
    assert message in result.output
