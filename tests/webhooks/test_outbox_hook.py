"""The processor's hook: lead.created and deal.created go to the outbox in the pipeline's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from gateway.connectors.base import StoredEvent
from gateway.core.pipeline import PipelineResult
from gateway.dispatch.lead_hooks import lead_hooks
from gateway.store import outbox
from gateway.store.db import make_engine
from gateway.store.schema import deals, leads
from tests.journal.journal_dataset import populate, settings_for, specs
from tests.webhooks.conftest import SECRET

EVENT = StoredEvent(id="e1", connector="manual", account="a", key="k", name=None, group_key=None,
                    received_at=datetime(2024, 3, 1, tzinfo=UTC), headers={}, body=b"{}")


def test_the_hook_queues_each_subscription_its_events(database_url: str, tmp_path: Path) -> None:
    subs = [{"url": "https://crm.example/hooks/leads", "events": ["lead.created"], "secret": SECRET},
            {"url": "https://erp.example/in", "events": ["*"], "secret": "plain-secret-1"}]
    settings = settings_for(database_url, tmp_path, webhooks=subs, access={"journal_manager": "responsible"})
    engine = make_engine(database_url)
    populate(engine, settings, specs(12))
    hook, _work = lead_hooks(settings)
    with engine.begin() as conn:
        lead_id, deal_id = conn.execute(select(leads.c.id, leads.c.deal_id).where(leads.c.key == "test:3")).one()
        assert deal_id is not None
        hook(conn, PipelineResult(lead_id, created=True, events=[("lead.created", lead_id),
                                                                 ("deal.created", deal_id)]), EVENT)
    with engine.connect() as conn:
        rows = outbox.list_deliveries(conn)
        deal_name = conn.execute(select(deals.c.name).where(deals.c.id == deal_id)).scalar_one()
    engine.dispose()
    got = sorted((r["target"], r["event_type"]) for r in rows)
    assert got == [("https://crm.example/hooks/leads", "lead.created"), ("https://erp.example/in", "deal.created"),
                   ("https://erp.example/in", "lead.created")]
    assert all(r["status"] == "pending" and r["attempts"] == 0 and r["id"].startswith("msg_") for r in rows)
    lead_body = next(r["payload"] for r in rows if r["event_type"] == "lead.created")
    assert lead_body["type"] == "lead.created" and lead_body["data"]["id"] == lead_id
    assert lead_body["data"]["manager"] == "ivanov"  # the deal's responsible, as the setting says
    assert lead_body["data"]["manager_taken"] == "sidorov" and lead_body["data"]["manager_differs"]
    deal_body = next(r["payload"] for r in rows if r["event_type"] == "deal.created")
    assert deal_body["data"]["id"] == deal_id and deal_body["data"]["name"] == deal_name
    assert [lead["id"] for lead in deal_body["data"]["leads"]] == [lead_id]


def test_no_subscriptions_no_webhook_hook(tmp_path: Path) -> None:
    hooks = lead_hooks(settings_for(f"sqlite:///{tmp_path}/x.db", tmp_path))
    assert [h.__qualname__.split(".")[0] for h in hooks] == ["work_hook"]
