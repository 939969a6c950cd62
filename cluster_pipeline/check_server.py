"""The pre-submission check as an upload page: a cluster secretariat uploads its files and
sees what the pipeline would accept, quarantine or set aside (lib/contracts/pre_submission.py does
the checking; this module only carries files in and the answer out).

Starlette, served by uvicorn: both already come with dagster-webserver, are well kept, and
a page with one form needs no more. Strangers' files arrive here, so: the upload size is
limited while it streams in, uploads are stored under names of our own in a temporary
folder removed before the answer is sent, and every text from a file is escaped (Jinja's
autoescape) in a page whose only script is our own (a nonce in the Content-Security-Policy).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from cluster_pipeline.lib import html_pages, seeds
from cluster_pipeline.lib.contracts.pre_submission import SubmissionCheck, check_submission
from cluster_pipeline.lib.ingest.landing import SUBMISSION_SUFFIXES, landing_file

DEFAULT_MAX_UPLOAD_BYTES = int(seeds.thresholds()["max_upload_mb"] * 1024 * 1024)
MAX_FILES = 100  # a cluster sends two files; a whole year's folder is about 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadTooLarge(Exception):
    pass


class UploadLimit:
    """ASGI middleware: refuses a request body over the limit as it streams in (a declared
    Content-Length over it before reading anything), so no oversized upload is read whole."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        declared_too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def limited_receive():
            nonlocal received
            if declared_too_large:
                raise UploadTooLarge
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise UploadTooLarge
            return message

        return await self.app(scope, limited_receive, send)


def display_name(filename: str | None, position: int) -> str:
    """The uploaded name as a label only (never a path): its last part, without control characters."""
    name = _CONTROL.sub("", PurePosixPath((filename or "").replace("\\", "/")).name)[:150].strip()
    return name or f"upload {position + 1}"


def _distinct(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    distinct = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        distinct.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return distinct


async def _check_uploads(uploads: list[UploadFile], year: int | None) -> SubmissionCheck:
    with tempfile.TemporaryDirectory(prefix="cluster-check-") as folder:
        names = _distinct([display_name(u.filename, i) for i, u in enumerate(uploads)])
        files = []
        # an upload carries no modification time: all get the same one, so between two files of
        # the same cluster and kind the stated tie rule decides (the name later in order wins)
        stamp = time.time()
        for position, (upload, name) in enumerate(zip(uploads, names)):
            suffix = PurePosixPath(name).suffix.lower()
            path = Path(folder) / f"{position:03d}{suffix if suffix in SUBMISSION_SUFFIXES else '.upload'}"
            with path.open("wb") as stored:
                while chunk := await upload.read(1 << 20):
                    stored.write(chunk)
            os.utime(path, (stamp, stamp))
            files.append(landing_file(path, name))
        return await run_in_threadpool(check_submission, files, year)


def _page(status_code: int = 200, **context) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    context = {"result": None, "rejection": None, "year": "", **context}
    body = html_pages.template("check.html.j2").render(nonce=nonce, **context)
    return HTMLResponse(
        body,
        status_code,
        headers={
            "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def create_app(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Starlette:
    limit_text = f"{max_upload_bytes / 1024 / 1024:g} MB"

    def _rejection(request: Request, status_code: int, message: str) -> Response:
        if request.query_params.get("format") == "json":
            return JSONResponse({"error": message}, status_code)
        return _page(status_code, rejection=message, limit=limit_text)

    async def upload_form(request: Request) -> Response:
        return _page(limit=limit_text)

    async def check(request: Request) -> Response:
        try:
            async with request.form(max_files=MAX_FILES, max_fields=10) as form:
                uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile) and u.filename]
                year_text = str(form.get("year") or "").strip()
                if not uploads:
                    return _rejection(request, 400, "No file was chosen: choose your members and profile files.")
                if year_text and not year_text.isdigit():
                    return _rejection(
                        request, 400, f"The reporting year must be a year, like 2016 (got {year_text!r})."
                    )
                found = await _check_uploads(uploads, int(year_text) if year_text else None)
        except UploadTooLarge:
            return _rejection(
                request,
                413,
                f"The upload is larger than {limit_text}, the most this page takes. "
                "A cluster's survey files are far smaller: check that you chose the right files.",
            )
        except HTTPException as exc:  # malformed or oversized multipart data
            return _rejection(request, 400, f"The upload could not be read: {exc.detail}")
        if request.query_params.get("format") == "json":
            return Response(found.as_json(), media_type="application/json")
        return _page(result=found, limit=limit_text, year=year_text)

    return Starlette(
        routes=[Route("/", upload_form), Route("/check", check, methods=["POST"])],
        middleware=[Middleware(UploadLimit, max_bytes=max_upload_bytes)],
    )


def serve(host: str, port: int, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
    import uvicorn

    from cluster_pipeline.lib.contracts.gx_adapter import warm_up

    warm_up()  # the first upload should not wait for Great Expectations' import
    print(
        f"pre-submission check: http://{host}:{port}/ (uploads up to {max_upload_bytes / 1024 / 1024:g} MB)", flush=True
    )
    uvicorn.run(create_app(max_upload_bytes), host=host, port=port, log_level="info")
