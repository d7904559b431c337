"""The running pacsbridge seen over HTTP: is it there, where do its reports go, FHIR.

The demo is a client like any other: it reads ``/healthz`` and ``GET /api/destinations``
(the operations API, open in the default ``auth = open`` mode), waits for the ImagingStudy
through FHIR, and writes the radiologist's DiagnosticReport through FHIR, which is what
makes pacsbridge send the ORU^R01 (docs/outbound.md).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from pacsbridge.demo.failure import START_SERVER, DemoFailed
from pacsbridge.demo.scenario import CONCLUSION, FINDINGS, RADIOLOGIST

WANTED_EVENTS = ("procedure-status", "report")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
AUTH_HINT = ("the demo targets the open embedded default; pass --token (an administrator's "
             "token) or run the server with --auth open")  # fmt: skip


class PacsbridgeHttp:
    """One HTTP client on the server, turning refusals into :class:`DemoFailed`."""

    def __init__(self, base_url: str, token: str | None, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url
        self.has_token = token is not None
        self.client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise DemoFailed(f"pacsbridge is not running at {self.base_url} ({exc})",
                             f"{START_SERVER}; or pass --host/--http-port where it "
                             "runs") from exc  # fmt: skip
        except httpx.TimeoutException as exc:
            raise DemoFailed(
                f"{method} {path} got no answer in time",
                "is the server busy? try again with a longer --timeout",
            ) from exc
        if response.status_code == 401 and self.has_token:
            raise DemoFailed(f"{method} {path}: 401, the server refused the token",
                             "the token has expired or is for another server: get a new one "
                             "(or run the server with --auth open)")  # fmt: skip
        if response.status_code == 401:
            raise DemoFailed(f"{method} {path}: 401, the server wants a token", AUTH_HINT)
        if response.status_code == 403:
            raise DemoFailed(
                f"{method} {path}: 403, this token may not do that",
                "use an administrator's token (`pacsbridge users add NAME --role "
                "admin`, then sign in) or run the server with --auth open",
            )
        return response

    async def health(self) -> dict[str, Any]:
        response = await self._call("GET", "/healthz")
        if response.status_code != 200:
            raise DemoFailed(f"the server is not healthy: {response.text[:200]}",
                             "its log says why (often the database)")  # fmt: skip
        return dict(response.json())

    async def his_destination(self, his_port: int, host: str) -> dict[str, Any]:
        """The configured destination that sends to the demo's HIS port, with its state."""
        response = await self._call("GET", "/api/destinations")
        found = [d for d in response.json() if str(d.get("address", "")).endswith(f":{his_port}")]
        address = "127.0.0.1" if host in LOOPBACK else "THIS_MACHINE'S_ADDRESS"
        if not found:
            raise DemoFailed(
                f"the server has no destination for the demo HIS on port {his_port}, so its "
                "order status and report would go nowhere",
                f"stop the server and start it again with `pacsbridge serve --destination "
                f"DEMO-HIS={address}:{his_port}` (`make run` does this)",
            )
        destination = dict(found[0])
        missing = [e for e in WANTED_EVENTS if e not in destination.get("events", [])]
        if missing:
            raise DemoFailed(
                f"destination {destination['name']} does not take {', '.join(missing)}",
                'give it events = ["report", "procedure-status"] in pacsbridge.toml, or '
                f"use --destination DEMO-HIS={address}:{his_port} (every default event)",
            )
        if destination.get("paused"):
            raise DemoFailed(f"destination {destination['name']} is paused",
                             f"`pacsbridge outbox resume {destination['name']}` sends to it "
                             "again")  # fmt: skip
        return destination

    async def imaging_study(self, study_uid: str, instances: int, seconds: float
                            ) -> dict[str, Any]:  # fmt: skip
        """The study's ImagingStudy once it holds ``instances`` and names its order."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        wanted = {"identifier": f"urn:dicom:uid|urn:oid:{study_uid}"}
        study: dict[str, Any] | None = None
        while loop.time() < deadline:
            response = await self._call("GET", "/fhir/R4/ImagingStudy", params=wanted)
            entries = response.json().get("entry", []) if response.status_code == 200 else []
            study = entries[0]["resource"] if entries else None
            if study and study.get("numberOfInstances", 0) >= instances and study.get("basedOn"):
                return study
            await asyncio.sleep(0.25)
        if study is None:
            raise DemoFailed(f"no ImagingStudy for study {study_uid} after {seconds:.0f} s",
                             "the server's log says whether the images were kept; try a "
                             "longer --timeout")  # fmt: skip
        raise DemoFailed(
            f"ImagingStudy/{study['id']} has {study.get('numberOfInstances', 0)} of {instances} "
            f"images{'' if study.get('basedOn') else ' and no order (basedOn)'}",
            "the images' accession number must be the order's; try a longer --timeout",
        )

    async def sign_report(self, study: dict[str, Any]) -> dict[str, Any]:
        """The radiologist's final report on the study; pacsbridge answers with an ORU^R01."""
        report = {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                      "code": "RAD", "display": "Radiology"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "18748-4",
                                 "display": "Diagnostic imaging study"}]},
            "subject": study["subject"],
            "basedOn": study["basedOn"],
            "imagingStudy": [{"reference": f"ImagingStudy/{study['id']}"}],
            "resultsInterpreter": [{"display": RADIOLOGIST}],
            "presentedForm": [{"contentType": "text/plain; charset=utf-8",
                               "data": base64.b64encode(FINDINGS.encode()).decode("ascii")}],
            "conclusion": CONCLUSION,
        }  # fmt: skip
        response = await self._call("POST", "/fhir/R4/DiagnosticReport", json=report,
                                    headers={"Content-Type": "application/fhir+json"})  # fmt: skip
        if response.status_code != 201:
            raise DemoFailed(f"the report was refused: {response.status_code} "
                             f"{_diagnostics(response)}",
                             "the server's answer above says which element")  # fmt: skip
        return dict(response.json())

    async def viewer_installed(self) -> bool:
        """Whether ``/viewer/`` serves OHIF (``pacsbridge viewer install`` puts it there)."""
        response = await self._call("GET", "/viewer/")
        return response.status_code == 200

    async def outbox(self, patient: str, destination: str) -> list[dict[str, Any]]:
        """The outbound messages of one patient (``Patient/ID``) to one destination."""
        wanted = {"patient": patient, "destination": destination}
        response = await self._call("GET", "/api/outbox", params=wanted)
        return list(response.json()) if response.status_code == 200 else []


def _diagnostics(response: httpx.Response) -> str:
    try:
        issues = response.json().get("issue", [])
    except ValueError:
        return response.text[:300]
    return "; ".join(str(i.get("diagnostics", i.get("code", ""))) for i in issues)
