"""Every corpus message through `process`, compared with its expected output.

Regenerate the expected files, then review the diff:
    MAIL_REGENERATE=1 .venv/bin/pytest tests/connectors/email/test_imap_corpus.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from imap_store import ParseCtx
from imap_support import FIXTURES, NOW

from gateway.config import Settings
from gateway.connectors.base import StoredEvent
from gateway.connectors.email.connector import ImapConnector
from gateway.connectors.email.keys import event_key
from gateway.core.errors import PayloadError
from gateway.store.files import FileStore
from tests.golden import regenerating

EXPECTED = FIXTURES / "expected"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.eml"))


def corpus_settings() -> Settings:
    return Settings(config=Path("/nonexistent.toml"), email={
        "mailboxes": [{"name": "sales", "host": "imap.company.example", "username": "sales@company.example",
                       "password": "x", "source": "Почта sales@"}],
        "company_domains": ["company.example"],
    })


def corpus_event(name: str, raw: bytes | None = None) -> StoredEvent:
    raw = raw if raw is not None else (FIXTURES / f"{name}.eml").read_bytes()
    role = "sent" if name.endswith("_sent") else "inbox"
    return StoredEvent(id="e1", connector="imap", account="sales", key=event_key(raw), name=role, group_key=None,
                       received_at=NOW, headers={"role": role, "folder": "Sent" if role == "sent" else "INBOX"},
                       body=raw)


def summary(name: str, files: FileStore) -> dict[str, Any]:
    try:
        outcome = ImapConnector(corpus_settings()).process(corpus_event(name), ParseCtx(files))
    except PayloadError as exc:
        return {"error": f"PayloadError: {exc.message}"}
    return {"interactions": [ix.model_dump(mode="json") for ix in outcome.interactions], "result": outcome.result}


def test_corpus_has_every_scenario() -> None:
    assert len(NAMES) >= 29
    assert set(NAMES) == {p.stem for p in EXPECTED.glob("*.json")} or regenerating("MAIL_REGENERATE")


@pytest.mark.parametrize("name", NAMES)
def test_corpus_message_gives_the_expected_interaction(name: str, tmp_path: Path) -> None:
    got = summary(name, FileStore(tmp_path / "files"))
    path = EXPECTED / f"{name}.json"
    if regenerating("MAIL_REGENERATE"):
        EXPECTED.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))
