"""The digital pipeline over sockets: each action, a delay, a condition, a failing receiver, a loop, idempotency."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller
from imapclient import IMAPClient
from sqlalchemy import select

from gateway.http.keys import OUTBOX, SETTINGS
from gateway.store import outbox
from gateway.store.automation import stage_entered
from gateway.store.schema import deals
from tests.conftest import free_port, until
from tests.connectors.email.conftest import account, dovecot, imap  # noqa: F401 - fixtures
from tests.connectors.email.test_mail_reply import Inbox, first_mail
from tests.connectors.messengers.messenger_harness import TG_SECRET, fixture_bytes
from tests.deals.conftest import Outside, Start, hours, later_runner, move, new_deal, of, pipeline, runs
from tests.web.conftest import mail_lead
from tests.webhooks.conftest import SECRET


def hot_lead(url: str, **more: object) -> dict[str, object]:
    return {"name": "hot-lead", "on": "Переговоры", "action": "webhook", "url": url, "secret": SECRET, **more}


async def test_a_webhook_trigger_sends_a_signed_deal_once(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([hot_lead(outside.hook_url)]))
    deal = await new_deal(gw, name="Андрей")
    await move(gw, deal, "Переговоры")
    items = await runs(gw, deal["id"], until=lambda xs: any(x["kind"] == "webhook" and x["status"] == "done"
                                                              for x in xs))
    [run], [delivery] = of(items, "hot-lead"), of(items, outside.hook_url, "webhook")
    assert (run["status"], run["result"]) == ("done", {"action": "webhook", "delivery": delivery["id"]})
    [got] = outside.hooks
    body = json.loads(got["body"])
    assert got["verified"] and got["headers"]["webhook-id"] == delivery["id"]
    assert (body["type"], body["trigger"], body["deal"]["id"], body["deal"]["stage"]) == (
        "deal.stage_entered", "hot-lead", deal["id"], "Переговоры")
    await move(gw, deal, "Лид")
    await move(gw, deal, "Переговоры")  # entering again is a new change: a new run
    items = await runs(gw, deal["id"], until=lambda xs: len(of(xs, outside.hook_url, "webhook")) == 2
                       and all(x["status"] == "done" for x in xs))
    assert len(of(items, "hot-lead")) == 2 and len(outside.accepted) == 2


async def test_a_receiver_that_fails_twice_gets_the_webhook_once(crm: Start, outside: Outside) -> None:
    outside.fail_first = 2
    gw = await crm(pipeline([hot_lead(outside.hook_url)]))
    deal = await new_deal(gw)
    await move(gw, deal, "Переговоры")
    await runs(gw, deal["id"], until=lambda xs: any(x["attempts"] == 1 for x in of(xs, outside.hook_url, "webhook")))
    now = datetime.now(UTC)  # the first attempt failed and waits for its retry: now, hours later, past any backoff
    for step in (1, 2, 3):
        runner, client = await later_runner(gw, now + hours(step))
        await runner.run_once()
        await client.aclose()
    items = await runs(gw, deal["id"])
    [run], [delivery] = of(items, "hot-lead"), of(items, outside.hook_url, "webhook")
    assert run["status"] == "done" and (delivery["status"], delivery["attempts"]) == ("done", 3)
    assert [h["status"] for h in outside.hooks] == [500, 500, 200]
    assert len(outside.accepted) == 1 and all(h["verified"] for h in outside.hooks)
    assert {h["headers"]["webhook-id"] for h in outside.hooks} == {delivery["id"]}  # one message, retried


async def test_a_task_trigger_and_a_delayed_one(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([
        {"name": "invoice", "on": "Счёт", "action": "task", "text": "Выставить счёт", "due_minutes": 60},
        {"name": "remind", "on": "Счёт", "action": "task", "text": "Напомнить об оплате", "delay_minutes": 120,
         "responsible": "anna"},
    ]))
    deal = await new_deal(gw)
    await move(gw, deal, "Счёт")
    items = await runs(gw, deal["id"], until=lambda xs: of(xs, "invoice") and of(xs, "invoice")[0]["status"] == "done")
    assert of(items, "remind")[0]["status"] == "pending"  # waits for its time
    runner, client = await later_runner(gw, datetime.now(UTC) + hours(1))
    assert await runner.run_once() == 0  # an hour on: still not due
    runner, client = await later_runner(gw, datetime.now(UTC) + hours(2.1))
    assert await runner.run_once() == 1
    await client.aclose()
    items = await runs(gw, deal["id"])
    async with gw.client("vera") as c:
        tasks = (await c.get("/api/v1/tasks", params={"deal_id": deal["id"]})).json()["items"]
        shown = (await c.get(f"/api/v1/deals/{deal['id']}")).json()
    assert [(t["text"], t["responsible"], t["created_by"]) for t in tasks] == [
        ("Выставить счёт", "vera", "trigger:invoice"), ("Напомнить об оплате", "anna", "trigger:remind")]
    assert [r["result"]["task_id"] for r in items] == [t["id"] for t in tasks]
    assert [t["text"] for t in shown["tasks"]] == ["Выставить счёт", "Напомнить об оплате"]


async def test_a_delayed_run_skips_a_deal_that_left_the_stage(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([{"name": "remind", "on": "Счёт", "action": "task", "text": "Позвонить",
                              "delay_minutes": 30}]))
    deal = await new_deal(gw)
    await move(gw, deal, "Счёт")
    await move(gw, deal, "Успешно")
    runner, client = await later_runner(gw, datetime.now(UTC) + hours(1))
    await runner.run_once()
    await client.aclose()
    [run] = await runs(gw, deal["id"])
    assert (run["status"], run["result"]) == ("done", {"skipped": "left_stage", "stage": "Успешно"})


async def test_conditions_that_hold_and_one_that_does_not(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([
        {"name": "direct", "on": "Переговоры", "action": "task", "text": "Горячий из Директа",
         "when": {"source": ["Яндекс.Директ"], "channel": ["manual"], "budget_at_least": 100000}},
    ]))
    direct = await new_deal(gw, source="Яндекс.Директ", phone="+79160002233")
    site = await new_deal(gw, source="Сайт", phone="+79160002244")
    for deal in (direct, site):
        await move(gw, deal, "Переговоры", budget=150000)
    [held], [skipped] = await runs(gw, direct["id"]), await runs(gw, site["id"])
    assert held["status"] == "done" and held["result"]["action"] == "task"
    assert skipped["status"] == "done"
    assert skipped["result"] == {"skipped": "condition", "condition": "source", "found": "Сайт"}
    async with gw.client("vera") as c:
        assert (await c.get("/api/v1/tasks", params={"deal_id": site["id"]})).json()["items"] == []


async def test_tags_responsible_and_stage_actions(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([
        {"name": "assign", "on": "created", "action": "responsible", "round_robin": ["anna", "boris"]},
        {"name": "move-on", "on": "created", "action": "stage", "to": "Переговоры"},
        {"name": "warm", "on": "Переговоры", "action": "tag", "add": ["горячий"], "remove": ["холодный"]},
    ]))
    first = await new_deal(gw, phone="+79160003301")
    second = await new_deal(gw, phone="+79160003302")
    for deal in (first, second):
        await runs(gw, deal["id"], until=lambda xs: len(xs) == 3 and all(x["status"] == "done" for x in xs))
    async with gw.client("root") as c:
        a = (await c.get(f"/api/v1/deals/{first['id']}")).json()
        b = (await c.get(f"/api/v1/deals/{second['id']}")).json()
        history = (await c.get(f"/api/v1/deals/{first['id']}/history")).json()["items"]
    assert (a["responsible"], b["responsible"]) == ("anna", "boris")  # round-robin
    assert (a["stage"], a["tags"], b["stage"], b["tags"]) == ("Переговоры", ["горячий"], "Переговоры", ["горячий"])
    by = {(h["action"], h["data"].get("by")) for h in history}
    assert {("deal.responsible", "trigger:assign"), ("deal.stage", "trigger:move-on"),
            ("deal.tags", "trigger:warm")} <= by


async def test_a_message_goes_to_the_chat_the_customer_wrote_from(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([{"name": "thanks", "on": "created", "action": "message",
                              "text": "Спасибо, мы получили вашу заявку"}]))
    async with gw.client() as c:
        resp = await c.post("/hooks/telegram/sales_bot",
                            content=fixture_bytes("telegram", "message_from_new_person.json"),
                            headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"})
    assert resp.status_code == 200
    async with gw.client("vera") as c:
        for _ in range(200):
            waiting = (await c.get("/api/v1/unsorted")).json()["items"]
            if waiting:
                break
        accepted = (await c.post(f"/api/v1/unsorted/{waiting[0]['id']}/accept", json={})).json()
    [run] = await runs(gw, accepted["deal_id"])
    assert run["status"] == "done" and run["result"]["action"] == "message"
    [sent] = outside.sent
    assert sent["text"] == "Спасибо, мы получили вашу заявку"
    async with gw.client("vera") as c:
        lead = (await c.get(f"/api/v1/leads/{waiting[0]['id']}")).json()
    assert [m["text"] for m in lead["conversation"] if m["direction"] == "out"] == ["Спасибо, мы получили вашу заявку"]


async def test_a_message_to_a_mail_lead_is_a_reply_in_its_thread(
        crm: Start, outside: Outside, account: Any, imap: IMAPClient) -> None:  # noqa: F811 - fixtures by name
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    imap.append("INBOX", first_mail())
    mailbox = {"name": "sales", "host": account.host, "port": account.port, "ssl": False,
               "username": account.username, "password": account.password, "poll_seconds": 0.5,
               "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
               "address": "sales@example.com"}
    try:
        gw = await crm(pipeline([{"name": "thanks", "on": "created", "action": "message",
                                  "text": "Спасибо, счёт пришлём сегодня"}]),
                       email={"company_addresses": ["sales@example.com"], "mailboxes": [mailbox]})
        async with gw.client("vera") as c:
            async def waiting() -> Any:
                return (await c.get("/api/v1/unsorted")).json()["items"]

            [lead] = await until(waiting)
            accepted = (await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})).json()
        [run] = await runs(gw, accepted["deal_id"])
        [(sender, rcpts, raw)] = await until(lambda: asyncio.sleep(0, inbox.received))
    finally:
        smtp.stop()
    assert run["status"] == "done" and run["result"]["action"] == "message" and run["result"]["mail"]
    sent = message_from_bytes(raw, policy=policy.default)
    assert (sender, rcpts) == ("sales@example.com", ["petr@client.example"])
    assert sent["In-Reply-To"] == "<q1@client.example>" and sent["Subject"] == "Re: Вопрос по доставке"
    assert sent.get_content().strip() == "Спасибо, счёт пришлём сегодня"


async def test_a_message_to_a_mail_lead_whose_mailbox_cannot_send_says_so(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([{"name": "thanks", "on": "created", "action": "message", "text": "Спасибо"}]))
    lead_id = mail_lead(gw, subject="Счёт", text="Пришлите счёт", html=None, author="Ольга",
                        email="olga@client.example")
    async with gw.client("vera") as c:
        accepted = (await c.post(f"/api/v1/unsorted/{lead_id}/accept", json={})).json()
    [run] = await runs(gw, accepted["deal_id"])
    assert run["status"] == "dead" and "не настроена отправка" in run["last_error"]  # not a silent success
    assert outside.sent == []


async def test_a_loop_of_stage_triggers_stops_with_a_record(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([{"name": "check", "on": "Подача", "action": "stage", "to": "Проверка"},
                             {"name": "resubmit", "on": "Проверка", "action": "stage", "to": "Подача"}],
                            stages=["Заявка", "Подача", "Проверка", "Победа", "Проигрыш"], name="Тендеры"))
    deal = await new_deal(gw)
    await move(gw, deal, "Подача")
    items = await runs(gw, deal["id"], until=lambda xs: any(x["status"] == "dead" for x in xs)
                       and all(x["status"] in ("done", "dead") for x in xs))
    assert [(r["target"], r["status"]) for r in items] == [("check", "done"), ("resubmit", "done"), ("check", "dead")]
    assert items[-1]["last_error"] == "stopped: the triggers would move the deal in a circle: check → resubmit → check"
    async with gw.client("vera") as c:
        assert (await c.get(f"/api/v1/deals/{deal['id']}")).json()["stage"] == "Подача"


async def test_a_repeated_decision_and_a_replayed_run_act_once(crm: Start, outside: Outside) -> None:
    gw = await crm(pipeline([{"name": "invoice", "on": "Счёт", "action": "task", "text": "Выставить счёт"}]))
    deal = await new_deal(gw)
    moved = await move(gw, deal, "Счёт")
    [run] = await runs(gw, deal["id"])
    with gw.engine.begin() as conn:  # the same change decided again, and the run performed again
        stage_id = conn.execute(select(deals.c.stage_id).where(deals.c.id == deal["id"])).scalar_one()
        again = stage_entered(conn, gw.app[SETTINGS], deal["id"], stage_id=stage_id, version=moved["version"],
                              now=datetime.now(UTC))
        replayed = outbox.replay(conn, run["id"], now=datetime.now(UTC))
    assert again == [] and replayed
    gw.app[OUTBOX].wake()
    items = await runs(gw, deal["id"], until=lambda xs: xs[0]["attempts"] == 1 and xs[0]["status"] == "done")
    async with gw.client("vera") as c:
        tasks = (await c.get("/api/v1/tasks", params={"deal_id": deal["id"]})).json()["items"]
    assert len(items) == 1 and len(tasks) == 1 and items[0]["result"] == run["result"]
