"""The HTTP edge of site forms: check, read the body, store the submission, answer.

`POST /hooks/forms/{form_id}` takes multipart/form-data (files streamed to disk),
application/x-www-form-urlencoded or JSON. A browser's plain form post gets `303 See Other`
to the thank-you page; a script that accepts JSON gets `{"ok": true, "lead": <event id>}`.
`OPTIONS` answers CORS preflights for the form's `allowed_origins`, and
`GET /hooks/forms/{form_id}/thanks` is the built-in thank-you page.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from collections.abc import Callable

import structlog

from gateway.config.forms import FormSettings
from gateway.connectors.base import EdgeOutcome, FileStore, InboundRequest, NewEvent, Reply, Route
from gateway.connectors.webforms.content import UnsupportedMediaType
from gateway.connectors.webforms.ratelimit import SlidingWindow
from gateway.connectors.webforms.submission import (
    Client,
    StoredUpload,
    Submission,
    json_fields,
    read_capped,
    urlencoded_fields,
)
from gateway.connectors.webforms.upload import UploadLimits, header_params, read_multipart
from gateway.core.errors import NotFound, PayloadError, PayloadTooLarge, PermissionDenied, RateLimited, SignatureError

__all__ = ["CHANNEL", "FormsEdge"]

log = structlog.get_logger(__name__)

CHANNEL = "forms"
SECRET_FIELD = "_secret"  # noqa: S105 - a field name
SECRET_HEADER = "X-Form-Secret"  # noqa: S105 - a header name
_THANKS = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Спасибо!</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}</style>
</head><body><h1>Спасибо!</h1><p>Ваша заявка{form} отправлена. Мы свяжемся с вами в ближайшее время.</p>
</body></html>
"""


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


class FormsEdge:
    """Request handlers for every configured form; the rate limit window lives here, per process."""

    def __init__(self, forms: list[FormSettings], field_bytes: int, files: Callable[[], FileStore],
                 new_id: Callable[[], str], clock: Callable[[], float]) -> None:
        self._forms = {form.id: form for form in forms}
        self._field_bytes = field_bytes
        self._files = files
        self._new_id = new_id
        self._windows = {form.id: SlidingWindow(form.rate_limit_per_minute, 60.0, clock=clock) for form in forms}

    def routes(self) -> list[Route]:
        largest = max([self._field_bytes, *(form.max_upload_bytes for form in self._forms.values())])
        return [
            Route("POST", "/hooks/forms/{form_id}", self.submit, max_body_bytes=largest, name="forms.submit"),
            Route("OPTIONS", "/hooks/forms/{form_id}", self.preflight, name="forms.preflight"),
            Route("GET", "/hooks/forms/{form_id}/thanks", self.thanks, name="forms.thanks"),
        ]

    def form(self, form_id: str) -> FormSettings:
        form = self._forms.get(form_id)
        if form is None:
            raise NotFound("unknown form")
        return form

    async def submit(self, req: InboundRequest) -> EdgeOutcome:
        form = self.form(req.match.get("form_id", ""))
        origin = req.headers.get("Origin")
        if form.allowed_origins and origin and not self._allowed_origin(form, origin):
            raise PermissionDenied("origin not allowed for this form")
        ip = req.remote  # the HTTP app has already read X-Forwarded-For from trusted proxies only
        if not self._windows[form.id].hit(ip):
            log.warning("forms.rate_limited", form=form.id, ip=ip)
            raise RateLimited("too many submissions, try again in a minute", retry_after=60)
        header_secret = req.headers.get(SECRET_HEADER)
        if form.secret and header_secret is not None:
            self._check_secret(form, header_secret)
        content_type = req.headers.get("Content-Type") or req.content_type or ""
        media = content_type.split(";", 1)[0].strip().lower()
        limit = form.max_upload_bytes if media == "multipart/form-data" else min(form.max_upload_bytes,
                                                                                 self._field_bytes)
        if req.content_length is not None and req.content_length > limit:
            raise PayloadTooLarge(f"request over {limit} bytes")
        fields, files = await self._read(req, form, media, content_type, limit,
                                         needs_secret=bool(form.secret) and header_secret is None)
        submission = Submission(
            form=form.id, id=self._new_id(), received_at=req.received_at, encoding=_encoding(media),
            fields=fields, files=files,
            client=Client(ip=ip, user_agent=req.headers.get("User-Agent"), referer=req.headers.get("Referer"),
                          origin=origin),
        )
        event = NewEvent(connector=CHANNEL, account=form.id, key=submission.id, name="submission",
                         body=submission.model_dump_json().encode(), received_at=req.received_at)
        log.debug("forms.submission.accepted", form=form.id, submission=submission.id, files=len(files))
        return EdgeOutcome([event], reply=self._reply(form, origin, _wants_json(req, media)))

    async def _read(self, req: InboundRequest, form: FormSettings, media: str, content_type: str, limit: int,
                    *, needs_secret: bool) -> tuple[dict[str, list[str]], list[StoredUpload]]:
        charset = header_params(content_type).get("charset")
        if media == "application/x-www-form-urlencoded":
            fields = urlencoded_fields(await _small_body(req, limit), charset)
        elif media in ("application/json", "text/json") or media.endswith("+json"):
            fields = json_fields(await _small_body(req, limit))
        elif media == "multipart/form-data":
            return await self._read_multipart(req, form, content_type, needs_secret=needs_secret)
        else:
            raise UnsupportedMediaType("send multipart/form-data, application/x-www-form-urlencoded or JSON")
        if needs_secret:
            self._check_secret(form, _first(fields.get(SECRET_FIELD)))
        fields.pop(SECRET_FIELD, None)
        return fields, []

    async def _read_multipart(self, req: InboundRequest, form: FormSettings, content_type: str,
                              *, needs_secret: bool) -> tuple[dict[str, list[str]], list[StoredUpload]]:
        boundary = header_params(content_type).get("boundary", "")
        if not boundary:
            raise PayloadError("multipart body without a boundary")
        limits = UploadLimits(max_bytes=form.max_upload_bytes, max_files=form.max_files,
                              allowed_types=form.allowed_types, max_field_bytes=self._field_bytes)
        upload = await read_multipart(req.stream(), boundary.encode("latin-1", "replace"), self._files(), limits)
        try:
            if needs_secret:
                self._check_secret(form, _first(upload.fields.get(SECRET_FIELD)))
            upload.fields.pop(SECRET_FIELD, None)
            stored = upload.commit()
        except BaseException:
            upload.discard()
            raise
        files = [StoredUpload(field=f.field, id=f.id or "", name=f.name, original_name=f.original_name, size=f.size,
                              content_type=f.content_type, declared_type=f.declared_type) for f in stored]
        return upload.fields, files

    def _check_secret(self, form: FormSettings, given: str | None) -> None:
        expected = hashlib.sha256((form.secret or "").encode()).digest()
        if not hmac.compare_digest(hashlib.sha256((given or "").encode()).digest(), expected):
            log.warning("forms.secret.mismatch", form=form.id)
            raise SignatureError("form secret does not match")

    def _allowed_origin(self, form: FormSettings, origin: str) -> bool:
        allowed = {_origin(o) for o in form.allowed_origins}
        return "*" in allowed or _origin(origin) in allowed

    def _cors(self, form: FormSettings, origin: str | None) -> dict[str, str]:
        if not origin or not form.allowed_origins or not self._allowed_origin(form, origin):
            return {}
        return {"Access-Control-Allow-Origin": origin.strip(), "Vary": "Origin"}

    def _reply(self, form: FormSettings, origin: str | None, wants_json: bool) -> Callable[[list[str]], Reply]:
        cors = self._cors(form, origin)

        def build(event_ids: list[str]) -> Reply:
            if wants_json:
                body = json.dumps({"ok": True, "lead": event_ids[0] if event_ids else None})
                return Reply(200, body, "application/json", dict(cors))
            location = form.thank_you_url or f"/hooks/forms/{form.id}/thanks"
            return Reply(303, "", "text/plain", {**cors, "Location": location})

        return build

    async def preflight(self, req: InboundRequest) -> EdgeOutcome:
        form = self.form(req.match.get("form_id", ""))
        headers = self._cors(form, req.headers.get("Origin"))
        if headers:
            headers |= {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": f"Content-Type, Accept, X-Requested-With, {SECRET_HEADER}",
                "Access-Control-Max-Age": "600",
            }
        return EdgeOutcome([], reply=Reply(204, b"", "text/plain", headers or {"Vary": "Origin"}))

    async def thanks(self, req: InboundRequest) -> EdgeOutcome:
        form = self.form(req.match.get("form_id", ""))
        name = f" «{html.escape(form.name)}»" if form.name else ""
        return EdgeOutcome([], reply=Reply(200, _THANKS.format(form=name), "text/html"))


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _encoding(media: str) -> str:
    return {"multipart/form-data": "multipart", "application/x-www-form-urlencoded": "urlencoded"}.get(media, "json")


def _wants_json(req: InboundRequest, media: str) -> bool:
    accept = req.headers.get("Accept", "").lower()
    return ("application/json" in accept or _encoding(media) == "json"
            or req.headers.get("X-Requested-With", "").lower() == "xmlhttprequest")


async def _small_body(req: InboundRequest, limit: int) -> bytes:
    """A form without files: one read when its plain length is declared, else streamed against the limit."""
    if req.content_length is not None and req.content_length <= limit and "Content-Encoding" not in req.headers:
        return await req.read()
    return await read_capped(req.stream(), limit)
