"""A mail's files into the file store: attachments, inline images and the original .eml, with limits."""

from __future__ import annotations

from typing import Any

import filetype

from gateway.connectors.email.mime import ParsedMail
from gateway.connectors.email.parts import MimeFile
from gateway.core.models import AttachmentRef

__all__ = ["store_files", "store_original"]

_HTML_HEADS = (b"<!doctype html", b"<html", b"<script", b"<head", b"<body")


def sniff(head: bytes, declared: str) -> str:
    """The content type the bytes show, when they show one; else the declared type."""
    try:
        kind = filetype.guess(head) if head else None
    except (TypeError, ValueError):
        kind = None
    if kind is not None:
        return str(kind.mime)
    if head.lstrip()[:16].lower().startswith(_HTML_HEADS):
        return "text/html"
    return declared or "application/octet-stream"


def _mb(limit: int) -> str:
    return f"{limit / (1 << 20):.4g} MB" if limit >= 1 << 20 else f"{limit}-byte"


def _store_one(item: MimeFile, files: Any, limit: int) -> AttachmentRef:
    ref = {"name": item.name, "content_type": item.content_type, "inline": item.inline}
    if item.error is not None:
        return AttachmentRef(**ref, omitted=True, reason=item.error)
    if item.estimated_size > limit * 1.05:
        return AttachmentRef(**ref, size=item.estimated_size, omitted=True,
                             reason=f"over the {_mb(limit)} attachment limit")
    with files.writer(limit) as writer:
        try:
            for chunk in item.chunks():
                writer.write(chunk)
        except OverflowError:
            return AttachmentRef(**ref, size=writer.size, omitted=True,
                                 reason=f"over the {_mb(limit)} attachment limit")
        stored = writer.commit(sniff(writer.head, item.content_type))
    return AttachmentRef(**{**ref, "content_type": stored.content_type}, size=stored.size, file_id=stored.id)


def store_files(mail: ParsedMail, files: Any, *, limit: int) -> list[AttachmentRef]:
    """Every file part stored (or recorded as omitted, with the reason): none dropped silently."""
    refs = [_store_one(item, files, limit) for item in mail.files]
    if mail.skipped_parts:
        refs.append(AttachmentRef(name=f"{mail.skipped_parts} more parts", omitted=True,
                                  reason="too many parts or nested too deep"))
    return refs


def store_original(raw: bytes, files: Any, *, truncated_size: int | None, limit: int) -> AttachmentRef:
    """The message as received, `message.eml` (role "original")."""
    if truncated_size is not None:
        return AttachmentRef(name="message.eml", content_type="message/rfc822", size=truncated_size, omitted=True,
                             role="original", reason=f"message over the {_mb(limit)} limit: only its header fetched")
    stored = files.put_bytes(raw, "message/rfc822")
    return AttachmentRef(name="message.eml", content_type="message/rfc822", size=stored.size, file_id=stored.id,
                         role="original")
