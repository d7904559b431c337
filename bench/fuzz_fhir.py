"""The long schemathesis run against the FHIR API's OpenAPI description: no server error.

For each database a fresh ``pacsbridge serve --auth required`` process; schemathesis (its
command line, real HTTP) runs every phase (examples, coverage, fuzzing, stateful) over all
operations of ``/fhir/R4/openapi.json``, once with an administrator's token and once with a
patient's. The only check is ``not_a_server_error``: a 5xx is a finding, printed with the
request that reproduces it, and the run exits 1. The suite's short version is
tests/fhir/test_openapi.py.

    python bench/fuzz_fhir.py [--examples 200] [--databases sqlite,postgresql] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pacsbridge.auth.keys import KeyRing  # noqa: E402
from pacsbridge.store.database import open_database  # noqa: E402
from tests.conftest import (  # noqa: E402
    _drop_postgres_database,
    _postgres_database,
    free_port,
)
from tests.fhir.test_openapi import fuzzer_token  # noqa: E402
from tests.processes import serving  # noqa: E402

SCHEMATHESIS = Path(sys.executable).parent / "st"


def token(database_url: str, base: str, scope: str, patient: str | None = None) -> str:
    database = open_database(database_url, pool_size=1)
    try:
        return fuzzer_token(KeyRing(database), base, scope, patient=patient, lifetime=6 * 3600)
    finally:
        database.dispose()


def fuzz(base: str, bearer: str, examples: int, seed: int, workdir: Path) -> tuple[bool, str]:
    started = time.monotonic()
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base}/fhir/R4/openapi.json", "--checks",
         "not_a_server_error", "--max-examples", str(examples), "--workers", "2",
         "--seed", str(seed), "--no-color", "--generation-database", "none",
         "--request-timeout", "60", "-H", f"Authorization: Bearer {bearer}"],
        capture_output=True, text=True, cwd=workdir,
    )  # fmt: skip
    seconds = time.monotonic() - started
    tested = re.search(r"Tested: (\d+)", run.stdout)
    cases = re.search(r"(\d+) generated", run.stdout)
    failures = re.search(r"Server error: (\d+)", run.stdout)
    line = (f"{cases.group(1) if cases else '?'} requests over "
            f"{tested.group(1) if tested else '?'} operations, "
            f"{failures.group(1) if failures else 0} server errors, {seconds:.0f} s")  # fmt: skip
    if run.returncode != 0:
        print(run.stdout[-20000:], file=sys.stderr)
    return run.returncode == 0, line


def one_database(kind: str, examples: int, seed: int) -> list[tuple[str, bool, str]]:
    with tempfile.TemporaryDirectory(prefix="pb-fuzz-fhir-") as folder:
        work = Path(folder)
        name = None
        if kind == "sqlite":
            url = f"sqlite:///{work / 'pacsbridge.db'}"
        else:
            name = f"pb_fuzz_fhir_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            url = _postgres_database(name)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        results = []
        try:
            with serving(url, work / "data", port, options=("--auth", "required"),
                         log=work / "server.log") as server:  # fmt: skip
                admin = token(url, base, "system/*.cruds")
                created = httpx.post(
                    f"{base}/fhir/R4/Patient", headers={"Authorization": f"Bearer {admin}"},
                    json={"resourceType": "Patient", "name": [{"family": "Fuzz"}]},
                )  # fmt: skip
                patient = token(url, base, "patient/*.cruds", created.json()["id"])
                for who, bearer in (("administrator", admin), ("patient", patient)):
                    ok, line = fuzz(base, bearer, examples, seed, work)
                    print(f"{kind}, {who}: {line}", flush=True)
                    results.append((who, ok, line))
                if server.poll() is not None:
                    results.append(("server", False, "the server process died"))
        finally:
            if name:
                _drop_postgres_database(name)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="per operation and phase")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"schemathesis, every phase, {args.examples} examples per operation, seed {args.seed}")
    failed = False
    for kind in args.databases.split(","):
        for _who, ok, _line in one_database(kind, args.examples, args.seed):
            failed |= not ok
    print("no server error" if not failed else "FINDINGS above")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
