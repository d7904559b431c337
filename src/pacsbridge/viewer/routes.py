"""Serving the installed OHIF viewer at ``/viewer``, and IHE Invoke Image Display.

OHIF is a single-page app: a path that is not one of its files is one of its own routes
(``/viewer/viewer?StudyInstanceUIDs=…``) and gets ``index.html``. Its hashed bundles never
change under one name, so browsers may keep them; the HTML and the configuration may.

``/viewer/IHEInvokeImageDisplay`` is the Endpoint that ImagingStudy resources point to
(connection type ``ihe-iid``): the IHE IID request types STUDY and PATIENT become the
viewer's own URLs, so a FHIR client or the console can open a study by its UID.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pacsbridge.viewer.install import MARKER, viewer_dir

_NOT_INSTALLED = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Viewer not installed</title></head><body style="font-family:sans-serif;max-width:40em;
margin:3em auto"><h1>The image viewer is not installed</h1>
<p>pacsbridge serves the OHIF viewer once it is installed into its data folder. On the server,
run:</p><pre>pacsbridge viewer install</pre><p>(it fetches <code>@ohif/app</code> with npm; without
network, pass <code>--tarball</code> with a file made by <code>npm pack @ohif/app</code>), then
reload this page. Images are available meanwhile over DICOMweb at <code>/dicomweb</code>.</p>
</body></html>"""

_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"


def viewer_routes(data_dir: Path) -> list[BaseRoute]:
    """Routes to mount at ``/viewer``."""
    root = viewer_dir(data_dir)

    async def invoke_image_display(request: Request) -> Response:
        return _invoke(request)

    async def serve(request: Request) -> Response:
        if not (root / MARKER).is_file():  # a stat per request, not a JSON parse
            return HTMLResponse(_NOT_INSTALLED, status_code=404)
        return _file_or_index(root, request.path_params.get("path", ""))

    return [
        Route("/IHEInvokeImageDisplay", invoke_image_display, methods=["GET"]),
        Route("/", serve, methods=["GET", "HEAD"]),
        Route("/{path:path}", serve, methods=["GET", "HEAD"]),
    ]


def _file_or_index(root: Path, path: str) -> Response:
    candidate = (root / path).resolve()
    if path and candidate.is_file() and candidate.is_relative_to(root.resolve()):
        hashed = ".bundle." in candidate.name or candidate.suffix in {".wasm", ".woff2"}
        return FileResponse(candidate, headers={"Cache-Control": _IMMUTABLE if hashed
                                                else _REVALIDATE})  # fmt: skip
    if path and "." in path.rsplit("/", 1)[-1]:
        return Response(f"{path} is not part of the viewer", status_code=404,
                        media_type="text/plain")  # fmt: skip
    return FileResponse(root / "index.html", headers={"Cache-Control": _REVALIDATE})


def _invoke(request: Request) -> Response:
    """IHE RAD TF-2 4.106: requestType STUDY (studyUID or accessionNumber) or PATIENT."""
    params = request.query_params
    request_type = params.get("requestType", "").upper()
    base = request.scope.get("root_path", "").rstrip("/")  # the mount, /viewer
    if request_type == "STUDY" and params.get("studyUID"):
        uids = ",".join(u.strip() for u in params["studyUID"].split(",") if u.strip())
        return RedirectResponse(f"{base}/viewer?{urlencode({'StudyInstanceUIDs': uids})}", 302)
    if request_type == "STUDY" and params.get("accessionNumber"):
        return RedirectResponse(f"{base}/?{urlencode({'accession': params['accessionNumber']})}",
                                302)  # fmt: skip
    if request_type == "PATIENT" and params.get("patientID"):
        patient_id = params["patientID"].split("^", 1)[0]  # CX: the ID before its issuer
        return RedirectResponse(f"{base}/?{urlencode({'mrn': patient_id})}", 302)
    return Response(
        "IHEInvokeImageDisplay needs requestType=STUDY with studyUID or accessionNumber, "
        "or requestType=PATIENT with patientID",
        status_code=400, media_type="text/plain",
    )  # fmt: skip
