"""Companies and contacts: look before creating (normalised name, INN), then enrich; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from gateway.core.companies import company_key, find_inn, valid_inn
from gateway.core.models import Channel, IdentityKind, IdentityRef, Interaction, Kind
from gateway.core.pipeline import PipelineConfig, PipelineResult, process_interaction
from gateway.store.crm import CrmRepo
from gateway.store.schema import companies, contacts, deals, leads

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
CFG = PipelineConfig(region="RU", short_call_seconds=10, default_pipeline="Продажи")


def form(engine: Engine, n: int, *, phone: str | None = None, email: str | None = None, **kw: Any) -> PipelineResult:
    idents = [IdentityRef(kind=IdentityKind.PHONE, value=phone)] if phone else []
    idents += [IdentityRef(kind=IdentityKind.EMAIL, value=email)] if email else []
    ix = Interaction(key=f"forms:site:{n}", channel=Channel.FORMS, kind=Kind.FORM, account="site",
                     occurred_at=T0 + timedelta(minutes=n), identities=idents, **kw)
    with engine.begin() as conn:
        return process_interaction(CrmRepo(conn, ix.occurred_at), ix, event_id=None, cfg=CFG)


def rows(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_names_and_inns() -> None:
    assert company_key('ООО "Ромашка"') == company_key("Ромашка, ООО") == company_key("  РОМАШКА ") == "ромашка"
    assert company_key("АО «Ёлка-Палка»") == "елка палка" and company_key(" ООО ") is None
    assert valid_inn("7707083893") and valid_inn("500100732259") and not valid_inn("7707083894")
    assert find_inn({"fields": {"ИНН": "7707 083 893"}}, []) == "7707083893"
    assert find_inn({}, ["Реквизиты: ИНН 7707083893, КПП 773601001"]) == "7707083893"
    assert find_inn({}, ["ИНН 1234567890", "номер 7707083893"]) is None  # a wrong check digit; no "ИНН" before


def test_one_company_per_name_and_per_inn(engine: Engine) -> None:
    a = form(engine, 1, phone="+79160000001", name="Ольга", company='ООО "Ромашка"',
             custom={"fields": {"inn": "7707083893"}})
    b = form(engine, 2, phone="+79160000002", name="Пётр", company="Ромашка")  # same name, no INN: the same
    c = form(engine, 3, email="buh@other.example", company="Другое название", text="наш ИНН 7707083893")  # same INN
    d = form(engine, 4, phone="+79160000004", company="Ромашка", custom={"fields": {"ИНН": "500100732259"}})
    found = rows(engine, companies)
    assert [(x["name"], x["inn"]) for x in found] == [('ООО "Ромашка"', "7707083893"), ("Ромашка", "500100732259")]
    owner = {x["id"]: x["company_id"] for x in rows(engine, contacts)}
    first, second = found[0]["id"], found[1]["id"]
    assert [owner[r.contact_id] for r in (a, b, c, d)] == [first, first, first, second]
    assert [x["inn"] for x in rows(engine, leads)] == ["7707083893", None, "7707083893", "500100732259"]


def test_a_contact_is_enriched_by_later_leads(engine: Engine) -> None:
    first = form(engine, 1, phone="+79160000011")  # a call back request: nothing but the number
    form(engine, 2, phone="+79160000011", name="Иван Петров", position="Закупщик")
    form(engine, 3, phone="+79160000011", name="Ваня", position="Директор")  # what it has is kept
    [contact] = rows(engine, contacts)
    assert contact["id"] == first.contact_id
    assert (contact["name"], contact["position"]) == ("Иван Петров", "Закупщик")


def test_a_named_contact_takes_the_position_a_later_lead_brings(engine: Engine) -> None:
    form(engine, 1, phone="+79160000021", name="Мария")
    form(engine, 2, phone="+79160000021", name="Мария Соколова", position="Главный инженер")
    [contact] = rows(engine, contacts)
    assert (contact["name"], contact["position"]) == ("Мария", "Главный инженер")


def test_a_form_straight_to_a_stage_fills_the_deals_company(engine: Engine) -> None:
    made = form(engine, 1, phone="+79160000031", name="Анна", company="ООО Вектор", pipeline="Продажи", stage="Лид")
    [deal] = rows(engine, deals)
    [company] = rows(engine, companies)
    assert made.events[-1] == ("deal.created", deal["id"])
    assert deal["company_id"] == company["id"] and company["name"] == "ООО Вектор"
