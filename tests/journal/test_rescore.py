"""`gateway rescore`: every lead gets the points the rules now in the config give, with the rules named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from gateway.cli import main as gateway_main
from gateway.core.scoring import score
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters, list_leads
from gateway.store.schema import attachments, files, leads
from tests.journal.journal_dataset import populate, settings_for, specs

CONFIG = """
database_url = "{url}"
timezone = "Europe/Moscow"

[[pipelines]]
name = "Продажи"
stages = ["Неразобранное", "Лид", "Переговоры", "Успешно", "Отказ"]

[[pipelines]]
name = "Тендеры"
stages = ["Неразобранное", "Лид", "Заявка"]

[[scoring.rules]]
when = "has_phone"
points = 1

[[scoring.rules]]
name = "корпоративная почта"
when = "corporate_email"
points = 2

[[scoring.rules]]
when = "has_attachment"
points = 3

[[scoring.rules]]
when = "channel"
value = "forms"
points = 5
"""


@dataclass
class Rule:
    when: str
    points: int
    value: str | float | None = None
    name: str | None = None


RULES = [Rule("has_phone", 1), Rule("corporate_email", 2, name="корпоративная почта"), Rule("has_attachment", 3),
         Rule("channel", 5, "forms")]


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> tuple[str, Path]:
    engine = make_engine(database_url)
    populate(engine, settings_for(database_url, tmp_path), specs(120))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(files).values(id="f" * 64, size=3, content_type="text/plain", created_at=now))
        for key in ("test:3", "test:4"):
            lead_id = conn.execute(select(leads.c.id).where(leads.c.key == key)).scalar_one()
            conn.execute(insert(attachments).values(lead_id=lead_id, file_id="f" * 64, name="brief.txt", size=3,
                                                    content_type="text/plain", role="attachment", created_at=now))
    engine.dispose()
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG.format(url=database_url), encoding="utf-8")
    return database_url, config


def _scores(url: str) -> dict[str, tuple[int, list]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(leads.c.key, leads.c.score, leads.c.score_details)).all()
    engine.dispose()
    return {k: (s, d) for k, s, d in rows}


def test_rescore_applies_the_new_rules_to_every_lead(store: tuple[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url, config = store
    before = _scores(url)
    assert gateway_main(["rescore", "--config", str(config), "--batch", "17", "--dry-run"]) == 0
    assert _scores(url) == before
    assert "would change" in capsys.readouterr().out

    assert gateway_main(["rescore", "--config", str(config), "--batch", "17"]) == 0
    out = capsys.readouterr()
    assert "120 leads rescored with 4 rules" in out.out and "rescored 120/120 leads" in out.err
    after = _scores(url)
    items = {s.i: s for s in specs(120)}
    for key, (points, details) in after.items():
        s = items[int(key.split(":")[1])]
        lead = {"phone": s.phone, "email": s.email, "channel": s.channel,
                "attachment_count": 1 if key in ("test:3", "test:4") else 0}
        assert (points, details) == score(RULES, lead), key
    assert after["test:4"] == (4, [{"rule": "has_phone", "points": 1}, {"rule": "has_attachment", "points": 3}])
    assert {"rule": "корпоративная почта", "points": 2} in after["test:0"][1]  # client0@example0.ru

    assert gateway_main(["rescore", "--config", str(config)]) == 0
    assert "0 changed" in capsys.readouterr().out  # a second run changes nothing


def test_the_journal_sorts_by_the_new_scores(store: tuple[str, Path]) -> None:
    url, config = store
    assert gateway_main(["rescore", "--config", str(config)]) == 0
    engine = make_engine(url)
    with engine.connect() as conn:
        rows, _ = list_leads(conn, JournalFilters.from_query({"sort": "score"}), limit=200, cursor=None)
    engine.dispose()
    got = [(r["score"], r["received_at"]) for r in rows]
    assert got == sorted(got, reverse=True) and rows[0]["score"] == max(s for s, _ in got)
