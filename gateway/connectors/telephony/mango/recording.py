"""Download a call recording: `queries/recording/post` → 302 → a one-time link (Mango §3.5.1)."""

from __future__ import annotations

import itertools
from typing import Any

import filetype
import httpx
import structlog

from gateway.connectors.telephony.mango.vpbx import VpbxClient, is_file, raise_for_mango, result_code
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError

__all__ = ["NOT_READY", "fetch_recording"]

log = structlog.get_logger(__name__)

NOT_READY = frozenset({3300, 3320})  # "object / recording not found": Mango has not filed it yet
CHUNK = 1 << 16
AUDIO_ALIASES = {"audio/mp3": "audio/mpeg", "audio/x-mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg"}


def _content_type(response: httpx.Response, head: bytes) -> str:
    declared = response.headers.get("content-type", "application/octet-stream").split(";", 1)[0].strip().lower()
    declared = AUDIO_ALIASES.get(declared, declared)
    sniffed = filetype.guess(head[:8192])
    return str(sniffed.mime) if sniffed is not None else declared


def fetch_recording(client: VpbxClient, files: Any, recording_id: str, *, retry_after: float,
                    max_bytes: int, give_up: bool = False) -> dict[str, Any]:
    """Store the recording, streamed to the file store; the result names the file.

    Not ready yet: a waiting TransientUpstreamError (the event log asks again later without
    using up attempts), or PermanentUpstreamError once `give_up` says we waited long enough.
    """
    response = client.post("queries/recording/post", {"recording_id": recording_id, "action": "download"},
                           stream=True)
    try:
        if is_file(response):
            return _store(response, files, recording_id, max_bytes)
        code = result_code(response)
        if response.status_code in (404, 204) or code in NOT_READY:
            log.info("mango.recording.not_ready", recording_id=recording_id, status=response.status_code,
                     result=code)
            if give_up:
                raise PermanentUpstreamError("recording still not available", result=code,
                                             status=response.status_code)
            raise TransientUpstreamError("recording not ready yet", retry_after=retry_after, waiting=True,
                                         result=code)
        raise_for_mango(response, "queries/recording/post")
        raise TransientUpstreamError("recording answer was not a file", retry_after=retry_after)
    finally:
        response.close()


def _store(response: httpx.Response, files: Any, recording_id: str, max_bytes: int) -> dict[str, Any]:
    chunks = response.iter_bytes(CHUNK)
    head = b""
    for chunk in chunks:  # enough of the start to tell what the file is
        head += chunk
        if len(head) >= 8192:
            break
    ctype = _content_type(response, head)
    try:
        stored = files.put_chunks(itertools.chain([head], chunks), ctype, limit=max_bytes)
    except OverflowError:
        log.warning("mango.recording.too_large", recording_id=recording_id, limit=max_bytes)
        return {"recording_id": recording_id, "omitted": True, "reason": f"larger than {max_bytes} bytes"}
    log.info("mango.recording.stored", recording_id=recording_id, size=stored.size, content_type=ctype)
    return {"file_id": stored.id, "size": stored.size, "content_type": ctype, "recording_id": recording_id}
