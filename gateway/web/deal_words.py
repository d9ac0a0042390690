"""The deal pages' words in Russian (the keys are the English)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEAL_ENUMS", "DEAL_WORDS", "plural_forms"]


def plural_forms(t: Callable[[str], str], what: str) -> dict[str, str]:
    """The words of `what` ("deals", "tasks") for Formats.plural, in the reader's language."""
    return {form: t(f"{what}.{form}") for form in ("one", "few", "many", "other")}

DEAL_ENUMS: dict[str, tuple[str, str]] = {
    "deals.one": ("deal", "сделка"), "deals.few": ("deals", "сделки"), "deals.many": ("deals", "сделок"),
    "deals.other": ("deals", "сделки"), "tasks.one": ("task", "задача"), "tasks.few": ("tasks", "задачи"),
    "tasks.many": ("tasks", "задач"), "tasks.other": ("tasks", "задачи"),
    "history.deal.stage": ("stage", "этап"), "history.deal.pipeline": ("pipeline", "воронка"),
    "history.deal.responsible": ("responsible", "ответственный"), "history.deal.budget": ("budget", "бюджет"),
    "history.deal.name": ("name", "название"), "history.deal.tags": ("tags", "теги"),
    "history.deal.handover": ("handed over", "передана"), "history.lead.accept": ("created from a lead",
                                                                                 "создана из обращения"),
    "history.lead.link": ("a lead linked", "привязано обращение"), "history.task.create": ("task added",
                                                                                            "добавлена задача"),
    "history.task.complete": ("task done", "задача выполнена"), "history.lead.non_target": ("marked non-target",
                                                                                           "отмечено нецелевым"),
}

DEAL_WORDS: dict[str, str] = {
    "Deals": "Сделки", "My tasks": "Мои задачи", "Team": "Команда", "anyone": "любой", "Tag": "Тег",
    "Drag a card to another stage, or choose it and press Shift+→ or Shift+←. Arrows move between cards.":
        "Перетащите карточку в другой этап или выберите её и нажмите Shift+→ или Shift+←. Стрелки — переход "
        "между карточками.",
    "Moved to": "Перемещена в", "Not moved": "Не перемещена",
    "Somebody changed this deal meanwhile; it is shown as it is now":
        "Сделку только что изменил кто-то другой; она показана такой, какая есть сейчас",
    "Somebody changed this deal meanwhile: reload the page to see it":
        "Сделку только что изменил кто-то другой: обновите страницу, чтобы увидеть её такой, какая она сейчас",
    "Show more": "Показать ещё", "nobody": "никто", "Open tasks": "Открытые задачи",
    "yours and the common queue's, overdue first": "ваши и из общей очереди, сначала просроченные",
    "Done": "Выполнено", "No tasks.": "Задач нет.", "overdue": "просрочена", "common queue": "общая очередь",
    "Lead": "Обращение", "Complete": "Выполнить", "Stage and tags": "Этап и теги", "Move": "Переместить",
    "Add tags": "Добавить теги", "comma-separated": "через запятую", "Save tags": "Сохранить теги",
    "Hand over to": "Передать", "with its leads": "вместе с обращениями", "Hand over": "Передать",
    "Tasks": "Задачи", "No open tasks.": "Открытых задач нет.", "New task": "Новая задача", "Due": "Срок",
    "Add": "Добавить", "Automation": "Автоматизация", "When": "Когда", "Trigger": "Триггер",
    "What happened": "Что произошло", "webhook": "вебхук", "No triggers ran for this deal.":
        "Для этой сделки триггеры не срабатывали.", "History": "История", "Role": "Роль",
    "Open work": "Открытая работа", "Disable": "Отключить", "disabled": "отключён",
    "Hand open deals and tasks to": "Передать открытые сделки и задачи", "with their leads": "вместе с обращениями",
    "Advertising": "Рекламные", "Non-advertising": "Нерекламные", "All leads": "Все",
    "Nearest task": "Ближайшая задача",
    "Non-target": "Нецелевой", "Mark non-target": "Отметить нецелевым", "Managers differ": "Менеджеры различаются",
    "took it": "принял", "responsible": "ответственный", "Tags": "Теги",
}
