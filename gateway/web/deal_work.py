"""A deal's own page beyond its leads: its tasks, its trigger runs with their results, its history, its controls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.api.deals import deal_history, deal_runs
from gateway.store.schema import deals, stages, users
from gateway.store.tasks import list_tasks
from gateway.web.tasks_page import titled

__all__ = ["deal_work", "describe_run"]

_ACTIONS = {
    "webhook": ("Webhook queued", "Вебхук поставлен в отправку"), "task": ("Task created", "Создана задача"),
    "tag": ("Tags now: {tags}", "Теги теперь: {tags}"), "responsible": ("Responsible now: {responsible}",
                                                                      "Ответственный теперь: {responsible}"),
    "stage": ("Moved to «{stage}»", "Перемещена в «{stage}»"), "message": ("Message sent", "Отправлено сообщение"),
}
_SKIPS = {"condition": ("Not run: the condition «{condition}» does not hold (found: {found})",
                        "Не выполнено: не выполнено условие «{condition}» (найдено: {found})"),
          "left_stage": ("Not run: the deal left the stage (now «{stage}»)",
                         "Не выполнено: сделка ушла из этапа (сейчас «{stage}»)")}
_ERRORS = {"stopped: the triggers would move the deal in a circle": "Остановлено: триггеры гоняют сделку по кругу",
           "waiting for working hours": "Ждёт рабочего времени",
           "the trigger is no longer in the settings": "Триггера больше нет в настройках",
           "the deal has no chat or mail lead to answer through": "У сделки нет чата или письма, куда ответить"}
_CONDITIONS = {"source": "источник", "channel": "канал", "tags": "теги", "budget_at_least": "бюджет не меньше"}


def _russian_error(error: str) -> str:
    for english, russian in _ERRORS.items():
        if error.startswith(english):
            return russian + error[len(english):]
    return error


def describe_run(run: dict[str, Any], lang: str) -> str:
    """A trigger run's or a webhook's outcome in the reader's words."""
    ru = lang == "ru"
    result, error = run.get("result") or {}, run.get("last_error") or ""
    if run["status"] == "dead":
        return (("Остановлено: " if ru else "Stopped: ") + (_russian_error(error) if ru else error)).strip()
    if run["kind"] == "webhook":
        if run["status"] == "done":
            return "Доставлен" if ru else "Delivered"
        return (f"Повтор, попыток: {run['attempts']}" if ru else f"Retrying after {run['attempts']} attempts") \
            if run["attempts"] else ("Ждёт отправки" if ru else "Waiting to be sent")
    if run["status"] != "done":
        return (_russian_error(error) if ru else error) if error else ("Ждёт своего времени" if ru else "Waiting")
    if "skipped" in result:
        words = _SKIPS[result["skipped"]][1 if ru else 0]
        shown = {**result, "condition": _CONDITIONS.get(result.get("condition", ""), result.get("condition"))
                 if ru else result.get("condition")}
        return words.format(**{k: shown.get(k) or "—" for k in ("condition", "found", "stage")})
    if result.get("mail"):
        return "Письмо поставлено в отправку" if ru else "Mail queued for sending"
    words = _ACTIONS.get(result.get("action", ""), ("Done", "Выполнено"))[1 if ru else 0]
    return words.format(tags=", ".join(result.get("tags") or []) or "—", responsible=result.get("responsible"),
                        stage=result.get("stage"))


def deal_work(conn: Connection, deal_id: int, lang: str) -> dict[str, Any]:
    stage_rows = conn.execute(select(stages.c.name, stages.c.kind).where(
        stages.c.pipeline_id == select(deals.c.pipeline_id).where(deals.c.id == deal_id).scalar_subquery(),
        stages.c.kind != "unsorted").order_by(stages.c.position)).all()
    open_tasks, _ = list_tasks(conn, deal_id=deal_id, status="open", now=datetime.now(UTC), limit=200)
    runs = [{**r, "words": describe_run(r, lang)} for r in deal_runs(conn, deal_id)]
    return {"stages": [name for name, _ in stage_rows], "tasks": titled(conn, open_tasks), "runs": runs,
            "history": deal_history(conn, deal_id),
            "managers": list(conn.execute(select(users.c.name).where(users.c.disabled.is_(False))
                                          .order_by(users.c.name)).scalars())}
