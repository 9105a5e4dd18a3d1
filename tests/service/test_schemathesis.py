"""schemathesis generates requests from the served OpenAPI document: none may get a server error.

It runs with an admin key, so the review and job endpoints are exercised past the key check, on a
database of its own (it may validate or merge slicks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ADMIN_KEY = "schemathesis-admin-key-0123456789"
EXAMPLES = 15
"""Examples per operation (43 operations; about a minute in all)."""


@pytest.fixture
def fuzzed(pg_cluster, template_database, tmp_path):
    from tests.service.serving import serve_database

    yield from serve_database(pg_cluster, template_database, tmp_path, api_keys=[ADMIN_KEY])


def test_openapi_document_is_self_contained(served) -> None:
    import json

    with served.client() as client:
        text = client.get("/openapi", params={"f": "json"}).text
    document = json.loads(text)
    assert '"$ref": "http' not in json.dumps(document)
    for path in ("/orchestrate", "/jobs/{job_id}", "/slicks/{slick_id}/validate", "/map"):
        assert path in document["paths"]
    assert document["paths"]["/collections/runs/items"]["get"]["security"]
    assert "processes" not in " ".join(document["paths"])


def test_schemathesis_finds_no_server_errors(fuzzed) -> None:
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{fuzzed.url}/openapi",
            "--checks",
            "not_a_server_error",
            "--hypothesis-max-examples",
            str(EXAMPLES),
            "--hypothesis-deadline",
            "None",
            "--hypothesis-suppress-health-check",
            "all",
            "--hypothesis-seed",
            "20201121",
            "--workers",
            "1",
            "--request-timeout",
            "60000",
            "--no-color",
            "-H",
            f"X-API-Key: {ADMIN_KEY}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = result.stdout[-8000:]
    assert result.returncode == 0, report + result.stderr[-2000:]
    assert "not_a_server_error" in report and "passed" in report
