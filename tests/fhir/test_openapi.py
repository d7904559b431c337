"""The FHIR face's OpenAPI description, and schemathesis driven by it: no request makes a 500.

Each run starts a server on an empty database of each kind with ``--auth required`` and
lets schemathesis (its command line, over real HTTP) generate valid and invalid requests
for every operation the description lists, once as an administrator and once with a
patient's token, whose searches and reads take the authorization's narrowing paths. CI
runs a few cases per operation; ``python bench/fuzz_fhir.py`` runs the long version.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pacsbridge.app import build_store
from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.tokens import Grantee, issue_access_token
from pacsbridge.config import Settings
from pacsbridge.fhir.providers import PROVIDERS
from tests.conftest import RunningServer, free_port

SCHEMATHESIS = Path(sys.executable).parent / "st"


@pytest.fixture
def secured_alone(fresh_database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    own = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", auth="required",
                   host="127.0.0.1", http_port=free_port(), mllp_port=free_port(),
                   dicom_port=free_port())  # fmt: skip
    store = build_store(own)
    try:
        with RunningServer(own, store) as running:
            yield running
    finally:
        store.database.dispose()


def token_for(server: RunningServer, scope: str, *, patient: str | None = None) -> str:
    return fuzzer_token(server.app.state.keys, server.url, scope, patient=patient)


def fuzzer_token(keys: KeyRing, base: str, scope: str, *, patient: str | None = None,
                 lifetime: int = 900) -> str:  # fmt: skip
    """A token for schemathesis, signed as the server at ``base`` would sign it: a system
    token, or a patient's when ``patient`` is given (also for bench/fuzz_fhir.py)."""
    grantee = Grantee(subject="fuzzer", client_id="schemathesis", scope=scope,
                      kind="user" if patient else "system", patient=patient)  # fmt: skip
    token, _ = issue_access_token(keys, grantee, issuer=f"{base}/auth",
                                  audience=f"{base}/fhir/R4", lifetime=lifetime)  # fmt: skip
    return token


def test_the_description_lists_every_interaction_the_server_runs(server: RunningServer):
    response = httpx.get(f"{server.url}/fhir/R4/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": f"{server.url}/fhir/R4"}]
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    for provider in PROVIDERS:
        kind = provider.type
        assert ("get", f"/{kind}") in operations
        assert (("post", f"/{kind}") in operations) == provider.supports("create")
        assert (("put", f"/{kind}/{{id}}") in operations) == provider.supports("update")
        assert ("get", f"/{kind}/{{id}}/_history/{{vid}}") in operations
    patient = document["components"]["schemas"]["Patient"]
    assert patient["properties"]["resourceType"] == {"const": "Patient"}
    assert patient["properties"]["birthDate"]["type"] == "string"
    search = document["paths"]["/Patient"]["get"]["parameters"]
    assert {"birthdate", "identifier", "name", "_count"} <= {p["name"] for p in search}


@pytest.mark.parametrize("who", ["administrator", "patient"])
def test_schemathesis_finds_no_server_error(secured_alone: RunningServer, who: str,
                                            tmp_path: Path):  # fmt: skip
    server = secured_alone
    admin = token_for(server, "system/*.cruds")
    token = admin
    if who == "patient":
        created = httpx.post(f"{server.url}/fhir/R4/Patient",
                             json={"resourceType": "Patient", "name": [{"family": "Fuzz"}]},
                             headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
        assert created.status_code == 201
        token = token_for(server, "patient/*.cruds", patient=created.json()["id"])
    # The coverage phase (boundary values of every parameter, NUL bytes among them) takes
    # ~50 s: the administrator's run on PostgreSQL has it, whose text refuses NUL; the
    # others fuzz. bench/fuzz_fhir.py runs every phase on both databases.
    postgres = secured_alone.settings.database_url.startswith("postgresql")
    phases, examples = ("coverage,fuzzing", "3") if who == "administrator" and postgres else (
        "fuzzing", "8")  # fmt: skip
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{server.url}/fhir/R4/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", examples, "--workers", "2",
         "--phases", phases, "--seed", "20261128", "--no-color",
         "--generation-database", "none", "--request-timeout", "30",
         "-H", f"Authorization: Bearer {token}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    summary = run.stdout[run.stdout.rfind("== SUMMARY ==") :]
    assert run.returncode == 0, run.stdout[run.stdout.find("== FAILURES ==") :][:6000]
    tested = summary.split("Tested: ")[1].split()[0]
    assert int(tested) == sum(len(item) for item in document_paths(server).values()), summary
    generated = int(summary.split(" generated,")[0].rsplit("\n", 1)[-1])
    assert generated > 500, summary


def document_paths(server: RunningServer) -> dict:
    return httpx.get(f"{server.url}/fhir/R4/openapi.json").json()["paths"]
