"""The page's words in Russian (the default) and English (the keys themselves)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LANGS", "translator"]

LANGS = ("ru", "en")

# Enumerations: "<group>.<value>" -> (English, Russian)
_ENUMS: dict[str, tuple[str, str]] = {
    "kind.call": ("Call", "Звонок"), "kind.mail": ("Mail", "Письмо"), "kind.form": ("Form", "Заявка"),
    "kind.chat": ("Chat", "Чат"), "kind.manual": ("By hand", "Вручную"),
    "channel.mango": ("Mango Office", "Mango Office"), "channel.imap": ("Mail", "Почта"),
    "channel.forms": ("Site forms", "Формы сайта"), "channel.telegram": ("Telegram", "Telegram"),
    "channel.vk": ("VK", "ВКонтакте"), "channel.whatsapp": ("WhatsApp", "WhatsApp"),
    "channel.manual": ("By hand", "Вручную"),
    "direction.in": ("incoming", "входящий"), "direction.out": ("outgoing", "исходящий"),
    "direction.internal": ("internal", "внутренний"),
    "status.unsorted": ("Unsorted", "Неразобранное"), "status.accepted": ("Accepted", "Принят"),
    "status.declined": ("Declined", "Отклонён"), "status.linked": ("Linked", "Привязан"),
    "status.attached": ("In a contact's history", "В истории контакта"),
    "quality.target": ("target", "целевой"), "quality.repeat": ("repeat", "повторный"),
    "quality.non_target": ("non-target", "нецелевой"), "quality.unverified": ("unverified", "непроверенный"),
    "result.answered": ("answered", "отвечен"), "result.missed": ("missed", "пропущен"),
    "result.busy": ("busy", "занято"), "result.rejected": ("rejected", "отклонён"),
    "result.unavailable": ("unavailable", "недоступен"), "result.in_progress": ("ringing", "идёт вызов"),
    "role.admin": ("administrator", "администратор"), "role.manager": ("manager", "руководитель"),
    "role.operator": ("operator", "оператор"),
    "reason.same contact": ("same contact", "тот же контакт"), "reason.same phone": ("same phone", "тот же телефон"),
    "reason.same e-mail": ("same e-mail", "тот же e-mail"),
    "reason.same e-mail domain and similar name": ("same e-mail domain and similar name",
                                                   "тот же почтовый домен и похожее имя"),
    "reason.same name": ("same name", "то же имя"), "reason.same e-mail domain": ("same e-mail domain",
                                                                                "тот же почтовый домен"),
    "strength.strong": ("strong", "сильное"), "strength.medium": ("medium", "среднее"),
    "strength.weak": ("weak hint", "слабая подсказка"),
    "deal.open": ("open", "в работе"), "deal.won": ("won", "успешно"), "deal.lost": ("lost", "закрыта"),
    "event.failed": ("Failed", "С ошибкой"), "event.dead": ("Dead", "Отказ"), "event.pending": ("Waiting", "В очереди"),
    "what.source": ("Source", "Источник"), "what.connector": ("Connector", "Подключение"),
    "sink.pending": ("waiting to be sent", "ждёт отправки"), "sink.delivered": ("delivered", "доставлено"),
    "sink.failed": ("failed, will try again", "не вышло, повторим"), "sink.dead": ("not delivered", "не доставлено"),
    "callback.queued": ("sending the command", "команда отправляется"),
    "callback.sent": ("command sent", "команда отправлена"),
    "callback.refused": ("refused", "отказ"),
}

_RU: dict[str, str] = {
    "Lead Gateway": "Шлюз лидов", "Unsorted": "Неразобранное", "Journal": "Список лидов",
    "Event log": "Журнал событий", "Health": "Состояние", "Log in": "Вход", "Log out": "Выйти",
    "Name": "Имя", "Password": "Пароль", "Back to Unsorted": "К неразобранному",
    "All channels": "Все каналы", "Channel": "Канал", "Show": "Показать", "Live updates": "Живые обновления",
    "Nothing waiting. New leads appear here by themselves.": "Пусто. Новые обращения появятся здесь сами.",
    "Keys: j / k move, x select, a accept, d decline, l link": "Клавиши: j / k — переход, x — отметить, "
                                                                "a — принять, d — отклонить, l — привязать",
    "Select": "Отметить", "Accept selected": "Принять отмеченные", "Decline selected": "Отклонить отмеченные",
    "Choose a lead on the left.": "Выберите обращение слева.", "Unknown": "Неизвестный",
    "Source": "Источник", "non-advertising": "нерекламный", "call back": "перезвонить", "Score": "Баллы",
    "Phone": "Телефон", "E-mail": "E-mail", "Company": "Компания", "Budget": "Бюджет", "Manager": "Менеджер",
    "Call": "Звонок", "Result": "Результат", "Talk time": "Разговор", "Ringing": "Ожидание ответа",
    "Number dialled": "Набранный номер", "Called back": "Перезвонили", "Download the recording": "Скачать запись",
    "No recording yet": "Записи пока нет", "Show as text": "Показать текстом",
    "Show formatted (safe view)": "Показать с оформлением (безопасно)", "Mail": "Письмо",
    "Remote images hidden": "Скрыто внешних картинок", "Show them": "Показать",
    "Quoted text": "Цитата", "Conversation": "Переписка", "edited": "изменено", "deleted": "удалено",
    "Reply": "Ответ", "Send": "Отправить", "Form fields": "Поля формы", "UTM tags": "UTM-метки",
    "Attachments": "Вложения", "not kept": "не сохранено", "Might be": "Возможно, это",
    "Contact": "Контакт", "Deal": "Сделка", "Link here": "Привязать сюда",
    "Merge the lead's contact into this one": "Объединить контакт обращения с этим",
    "No similar contacts or deals.": "Похожих контактов и сделок нет.", "Pipeline": "Воронка", "Stage": "Этап",
    "first working stage": "первый рабочий этап", "Responsible": "Ответственный", "me": "я",
    "Accept": "Принять", "Reason": "Причина", "or in your own words": "или своими словами",
    "Block this phone and e-mail": "Заблокировать этот телефон и e-mail", "Decline": "Отклонить",
    "Deal number": "Номер сделки", "Link": "Привязать", "State": "Состояние", "Created": "Создана",
    "Leads": "Обращения", "Time": "Время", "Type": "Тип", "Status": "Статус", "Quality": "Качество",
    "No leads.": "Обращений нет.", "any": "любой", "From": "С", "To": "По", "Search": "Поиск",
    "Export": "Выгрузить", "Next page": "Дальше", "Event": "Событие", "Connector": "Подключение",
    "Received": "Получено", "Attempts": "Попыток", "Error": "Ошибка", "Replay": "Обработать заново",
    "No such events.": "Таких событий нет.", "Checked": "Проверено", "Problems": "Проблем",
    "Gone silent": "Замолчали", "no leads for": "нет обращений уже", "usually every": "обычно каждые",
    "last": "последнее", "Connectors": "Подключения", "Last event": "Последнее событие",
    "none yet": "пока нет", "No connectors yet.": "Подключений пока нет.", "Mailboxes": "Почтовые ящики",
    "Mailbox": "Ящик", "Last poll": "Последний опрос", "Last success": "Последний успех",
    "No mailboxes configured.": "Почтовые ящики не настроены.",
    # messages from the server
    "Wrong name or password": "Неверное имя или пароль",
    "Too many failed attempts; wait a little": "Слишком много неудачных попыток; подождите немного",
    "The form expired; please try again": "Форма устарела; попробуйте ещё раз",
    "Log in over HTTPS": "Входите по HTTPS", "Not allowed for your role": "Недоступно для вашей роли",
    "no such lead": "обращение не найдено", "no such deal": "сделка не найдена",
    "operators act on Unsorted and their own leads": "операторы работают с неразобранным и своими обращениями",
    # the script's words (sent to it in data attributes)
    "Accepted": "Принято", "Declined": "Отклонено", "Linked": "Привязано", "Sent": "Отправлено",
    "Taken by": "Уже забрал(а)", "Failed": "Не удалось", "Requeued": "Поставлено в очередь",
    # sending out: sinks, call back, mail replies
    "Call back": "Перезвонить", "Reply by mail": "Ответить письмом", "Sent on to": "Передано в CRM",
    "open": "открыть", "Send again": "Отправить ещё раз", "Sinks": "Передача в CRM", "Sink": "CRM",
    "Waiting": "В очереди", "No sinks configured.": "Передача в CRM не настроена.",
}


def translator(lang: str) -> Callable[[str], str]:
    """t(key): the key's words in `lang`; an unknown key shows as itself (English)."""
    russian = lang == "ru"

    def t(key: str) -> str:
        if key in _ENUMS:
            return _ENUMS[key][1 if russian else 0]
        group, dot, value = key.partition(".")
        if dot and group in _GROUPS:  # a value we have no words for: show it as it is
            return value
        return _RU.get(key, key) if russian else key

    return t


_GROUPS = frozenset(k.split(".")[0] for k in _ENUMS)
