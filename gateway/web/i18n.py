"""The page's words in Russian (the default) and English (the keys themselves).

Numbers, sizes, dates and plural forms are not here: they come from Babel (gateway/web/formats.py).
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.store.journal_view import LEAD_TYPES
from gateway.web.deal_words import DEAL_ENUMS, DEAL_WORDS

__all__ = ["LANGS", "translator"]

LANGS = ("ru", "en")

_TYPES_EN = {"incoming_call": "Incoming call", "missed_call": "Missed call", "outgoing_call": "Outgoing call",
             "internal_call": "Internal call", "form": "Site form", "mail": "Mail", "outgoing_mail": "Outgoing mail",
             "chat": "Chat", "manual": "Entered by a manager"}

# Enumerations: "<group>.<value>" -> (English, Russian)
_ENUMS: dict[str, tuple[str, str]] = {
    "kind.call": ("Call", "Звонок"), "kind.mail": ("Mail", "Письмо"), "kind.form": ("Form", "Заявка"),
    "kind.chat": ("Chat", "Чат"), "kind.manual": ("By a manager", "От менеджера"),
    "channel.mango": ("Mango Office", "Mango Office"), "channel.imap": ("Mail", "Почта"),
    "channel.forms": ("Site forms", "Формы сайта"), "channel.telegram": ("Telegram", "Telegram"),
    "channel.vk": ("VK", "ВКонтакте"), "channel.whatsapp": ("WhatsApp", "WhatsApp"),
    "channel.manual": ("By a manager", "Менеджером"),
    "direction.in": ("incoming", "входящий"), "direction.out": ("outgoing", "исходящий"),
    "direction.internal": ("internal", "внутренний"),
    # one name per status, the same as the export's
    "status.unsorted": ("Unsorted", "Неразобранное"), "status.accepted": ("Accepted", "Принят"),
    "status.declined": ("Declined", "Отклонён"), "status.linked": ("Linked to a deal", "Привязан к сделке"),
    "status.attached": ("In the contact's history", "В истории контакта"),
    "quality.target": ("target", "целевой"), "quality.repeat": ("repeat", "повторный"),
    "quality.non_target": ("non-target", "нецелевой"), "quality.unverified": ("unverified", "непроверенный"),
    "result.answered": ("answered", "отвечен"), "result.missed": ("missed", "пропущен"),
    "result.busy": ("busy", "занято"), "result.rejected": ("rejected", "сброшен"),
    "result.unavailable": ("unavailable", "недоступен"), "result.in_progress": ("ringing", "идёт вызов"),
    "result.no_answer": ("no answer", "нет ответа"),
    "role.admin": ("administrator", "администратор"), "role.manager": ("manager", "руководитель"),
    "role.operator": ("operator", "оператор"),
    "reason.same contact": ("same contact", "тот же контакт"), "reason.same phone": ("same phone", "тот же телефон"),
    "reason.same e-mail": ("same e-mail", "тот же e-mail"),
    "reason.same e-mail domain and similar name": ("same e-mail domain and similar name",
                                                   "тот же почтовый домен и похожее имя"),
    "reason.same name": ("same name", "то же имя"), "reason.same e-mail domain": ("same e-mail domain",
                                                                                "тот же почтовый домен"),
    "strength.strong": ("strong", "сильное совпадение"), "strength.medium": ("medium", "среднее совпадение"),
    "strength.weak": ("weak hint", "слабая подсказка"), "strength.none": ("no hint", "без подсказок"),
    "found.number": ("deal number", "номер сделки"), "found.phone": ("phone", "телефон"),
    "found.email": ("e-mail", "e-mail"), "found.name": ("name", "имя"),
    "found.deal name": ("deal name", "название сделки"),
    "known.new": ("new", "новый"), "known.known": ("known contact", "известный контакт"),
    "known.repeat": ("repeat", "повторное обращение"), "known.open_deal": ("has an open deal", "есть открытая сделка"),
    "deal.open": ("open", "в работе"), "deal.won": ("won", "успешно"), "deal.lost": ("lost", "закрыта"),
    # the event log's states: "dead" is not a deal's "Отказ"
    "event.failed": ("Will be retried", "Повторятся"), "event.dead": ("Stopped", "Остановлены"),
    "event.pending": ("Waiting", "В очереди"),
    "event.failed.note": ("These failed and the gateway will try again by itself.",
                          "Эти события не обработались; шлюз повторит их сам."),
    "event.dead.note": ("The gateway stopped trying these: repeat them once the cause is fixed.",
                        "Эти события шлюз больше не повторяет: повторите их, когда причина устранена."),
    "event.pending.note": ("Received and waiting to be processed.", "Получены и ждут обработки."),
    "what.source": ("Source", "Источник"), "what.connector": ("Connector", "Подключение"),
    "media.image": ("Photo", "Фото"), "media.audio": ("Audio", "Аудио"), "media.video": ("Video", "Видео"),
    "media.file": ("File", "Файл"), "refusal.title": ("Not allowed", "Нет доступа"),
    "field.page": ("Page", "Страница"), "field.referrer": ("Came from", "Откуда пришёл"),
    "field.site": ("Site", "Сайт"),
    "field.city": ("City", "Город"), "field.comment": ("Comment", "Комментарий"),
    "field.budget_text": ("Budget as written", "Бюджет (как написали)"),
    "field.username": ("Username", "Имя пользователя"),
    "field.form_name": ("Form", "Форма"), "field.message": ("Message", "Сообщение"),
    "group.source": ("source", "источнику"), "group.source_group": ("source group", "группе источников"),
    "group.called_number": ("number called", "номеру, на который звонили"), "group.channel": ("channel", "каналу"),
    "group.manager": ("manager", "менеджеру"), "group.department": ("department", "отделу"),
    "group.quality": ("quality", "качеству"), "group.status": ("status", "статусу"), "group.kind": ("kind", "виду"),
    "group.direction": ("direction", "направлению"),
    "group.utm_campaign": ("UTM campaign", "рекламной кампании (utm_campaign)"),
    "group.utm_source_medium": ("UTM source / medium", "источнику и каналу рекламы (utm_source / utm_medium)"),
    "group.utm_term": ("keyword (utm_term)", "ключевому слову (utm_term)"),
    "col.label": ("Group", "Группа"), "col.total": ("Total", "Всего"), "col.target": ("Target", "Целевые"),
    "col.repeat": ("Repeat", "Повторные"), "col.non_target": ("Non-target", "Нецелевые"),
    "col.unverified": ("Unverified", "Непроверенные"), "col.with_deal": ("With a deal", "Со сделкой"),
    "col.conversion": ("Conversion to a deal", "Конверсия в сделку"), "col.missed": ("Missed calls", "Пропущенные"),
    "col.median_callback_s": ("Median time to call back", "Медиана перезвона"),
    "results.one": ("result", "результат"), "results.few": ("results", "результата"),
    "results.many": ("results", "результатов"), "results.other": ("results", "результата"),
    "problems.one": ("problem", "проблема"), "problems.few": ("problems", "проблемы"),
    "problems.many": ("problems", "проблем"), "problems.other": ("problems", "проблемы"),
    **{f"type.{k}": (_TYPES_EN[k], v) for k, v in LEAD_TYPES.items()},
    "sink.pending": ("waiting to be sent", "ждёт отправки"), "sink.delivered": ("delivered", "доставлено"),
    "sink.failed": ("failed, will try again", "не вышло, повторим"), "sink.dead": ("not delivered", "не доставлено"),
    "callback.queued": ("sending the command", "команда отправляется"),
    "callback.sent": ("command sent", "команда отправлена"),
    "callback.refused": ("refused", "отказ"),
}

_RU: dict[str, str] = {
    "Lead Gateway": "Шлюз лидов", "Unsorted": "Неразобранное", "Journal": "Список лидов", "Reports": "Отчёты",
    "Event log": "Журнал событий", "Health": "Состояние", "Log in": "Вход", "Log out": "Выйти",
    "Skip to content": "Перейти к содержанию", "Sections": "Разделы", "Language": "Язык",
    "Your settings": "Ваши настройки", "Name": "Имя", "Password": "Пароль", "Back to Unsorted": "К неразобранному",
    "All channels": "Все каналы", "Channel": "Канал", "Show": "Показать", "Live": "Обновляется",
    "Offline": "Нет связи, обновления остановлены", "shown": "показаны", "of": "из", "Find": "Найти",
    "Search in Unsorted": "Поиск в неразобранном", "Name, phone, e-mail, text": "Имя, телефон, e-mail, текст",
    "Filtered": "Показаны не все", "show the whole queue": "показать всю очередь", "Leads waiting": "Ждут разбора",
    "Show more": "Показать ещё", "Lead card": "Карточка обращения", "Nothing found.": "Ничего не найдено.",
    "Nothing waiting. New leads appear here by themselves.": "Пусто. Новые обращения появятся здесь сами.",
    "Keys: j / k move, x select, a accept, d decline, l link": "Клавиши: j / k — переход, x — отметить, "
                                                                "a — принять, d — отклонить, l — привязать",
    "Select": "Отметить", "Accept selected": "Принять отмеченные", "Decline selected": "Отклонить отмеченные",
    "Choose a lead on the left.": "Выберите обращение в списке.", "Unknown": "Неизвестный",
    "Back to the queue": "К очереди", "Source": "Источник", "non-advertising": "нерекламные",
    "call back": "перезвонить", "Score": "Баллы", "Phone": "Телефон", "E-mail": "E-mail", "Company": "Компания",
    "Budget": "Бюджет", "Manager": "Менеджер", "Call": "Звонок", "Result": "Итог", "Talk time": "Разговор",
    "Ringing": "Ожидание ответа", "Number dialled": "Набранный номер", "Called back": "Перезвонили",
    "after": "через", "Call recording": "Запись разговора", "Download the recording": "Скачать запись",
    "No recording yet": "Записи пока нет", "Show as text": "Показать текстом",
    "Show formatted (safe view)": "Показать с оформлением (безопасно)", "Mail": "Письмо",
    "Remote images hidden": "Скрыто внешних картинок", "Show them": "Показать",
    "Quoted text": "Цитата", "Conversation": "Переписка", "edited": "изменено", "deleted": "удалено",
    "Reply": "Ответ", "Send": "Отправить", "What they filled in": "Что указал клиент", "Advertising": "Реклама",
    "Call tracking": "Коллтрекинг",
    "Call tracking: how the number pools are used": "Коллтрекинг: как используются пулы номеров",
    "Each site visitor sees a number from the pool; a call to it is tied to the visit.":
        "Каждый посетитель сайта видит свой номер из пула; звонок на него связывается с визитом.",
    "No site is set up: add [[calltracking.sites]] to the settings.":
        "Ни один сайт не настроен: добавьте [[calltracking.sites]] в настройки.",
    "Numbers in the pool": "Номеров в пуле", "In use now": "Занято сейчас",
    "Visitors shown the default number in the last week": "Показов основного номера из-за нехватки за неделю",
    "Pool size that would have served every visitor last week": "Хватило бы номеров, чтобы обслужить всех за неделю",
    "Hours when the pool ran out": "Часы, когда номера заканчивались", "Hour": "Час",
    "Shown the default number": "Показан основной номер", "Bots": "Роботы", "Numbers": "Номера", "Number": "Номер",
    "held until": "занят до", "free": "свободен",
    "Site visit": "Визит на сайт", "Campaign": "Кампания", "Keyword": "Ключевое слово", "Came from": "Откуда пришёл",
    "Pages seen": "Просмотренные страницы", "Also from this visitor": "Ещё от этого посетителя",
    "The call could not be tied to a visit:": "Звонок не удалось связать с визитом:",
    "Attachments": "Вложения", "could not be fetched": "не удалось получить", "Details": "Подробности",
    "Might be": "Возможно, это", "More hints": "Ещё подсказки", "Contact": "Контакт", "Deal": "Сделка",
    "Link here": "Привязать сюда",
    "Merge the lead's contact into this one": "Объединить контакт обращения с этим",
    "No similar contacts or deals.": "Похожих контактов и сделок нет.", "Pipeline": "Воронка", "Stage": "Этап",
    "Decision": "Решение", "Pipeline and responsible": "Воронка и ответственный",
    "first working stage": "первый рабочий этап", "Responsible": "Ответственный", "me": "я",
    "Accept": "Принять", "Decline…": "Отклонить…", "Why decline?": "Причина отказа", "Reason": "Причина",
    "or in your own words": "или своими словами", "Block this phone and e-mail": "Заблокировать этот телефон и e-mail",
    "Decline": "Отклонить", "Link to a deal…": "Привязать к сделке…", "Find a deal": "Поиск сделки",
    "Find a contact or deal": "Найти контакт или сделку",
    "Name, phone, e-mail or deal number": "Имя, телефон, e-mail или номер сделки",
    "or the deal's number": "или номер сделки", "Link": "Привязать",
    "Type a name, phone, e-mail or deal number.": "Введите имя, телефон, e-mail или номер сделки.",
    "Deal without a contact": "Сделка без контакта",
    "Nothing in the lead points to this contact": "В обращении нет ничего, что указывало бы на этот контакт",
    "No deals yet": "Сделок пока нет", "State": "Состояние", "Created": "Создана", "Leads": "Обращения",
    "Time": "Время", "Type": "Тип", "Status": "Статус", "Quality": "Качество", "Department": "Отдел",
    "No leads.": "Обращений нет.", "any": "любой", "From": "С", "To": "По", "Search": "Поиск",
    "Export": "Выгрузить", "Next page": "Дальше", "First page": "В начало", "Pages": "Страницы",
    "Filters": "Фильтры", "More filters": "Ещё фильтры", "Reset": "Сбросить", "Period by": "Период по",
    "day of arrival": "дню поступления", "day taken into work": "дню взятия в работу", "Direction": "Направление",
    "Source group": "Группа источников", "dismissed managers too": "и уволенные менеджеры",
    "dismissed": "уволен", "Tag": "Тег", "all": "все", "advertising": "рекламные",
    "Call back": "Перезвонить", "needed": "нужно", "not needed": "не нужно",
    "Manager column shows": "В колонке «Менеджер»", "who took the lead": "кто принял",
    "the deal's responsible": "ответственный по сделке", "as configured": "как настроено",
    "Found": "Найдено", "page of": "на странице", "took": "принял", "responsible": "ответственный",
    "You see the leads in Unsorted and your own leads.": "Вам видны неразобранные обращения и ваши собственные.",
    "All leads of the company.": "Все обращения компании.", "Advertising leads only": "Только рекламные",
    "show all": "показать все", "Type the day as": "Введите дату как",
    "Event states": "Состояния событий", "Received": "Получено", "Attempts": "Попыток", "Repeat": "Повторить",
    "Repeat all failed": "Повторить все упавшие", "Repeat all dead": "Повторить все остановленные",
    "What the providers sent that could not be processed yet. Times:":
        "Что прислали провайдеры и что ещё не удалось обработать. Время:",
    "No such events.": "Таких событий нет.", "Checked": "Проверено", "No problems": "Проблем нет",
    "Gone silent": "Замолчали", "no leads for": "нет обращений уже", "usually every": "обычно каждые",
    "last": "последнее", "Connectors": "Подключения", "Last event": "Последнее событие",
    "none yet": "пока нет", "No connectors yet.": "Подключений пока нет.", "Mailboxes": "Почтовые ящики",
    "Last poll": "Последний опрос", "Last success": "Последний успех",
    "No mailboxes configured.": "Почтовые ящики не настроены.",
    "Leads grouped by": "Обращения по", "Times:": "Время:", "Group by": "Группировать по", "leads": "обращений",
    "target": "целевых", "became deals": "стали сделками", "missed calls": "пропущенных звонков",
    "median time to call back": "медиана времени перезвона", "Files": "Файлы", "the report, CSV": "отчёт, CSV",
    "the leads, CSV": "обращения, CSV", "the leads, XLSX": "обращения, XLSX", "Total": "Итого",
    "Leads by quality": "Обращения по качеству", "Conversion to a deal, %": "Конверсия в сделку, %",
    "Missed calls": "Пропущенные звонки", "Report table": "Таблица отчёта",
    "Your name as colleagues see it": "Ваше имя, как его видят коллеги",
    "Time zone": "Часовой пояс", "the company's": "как у компании", "Save": "Сохранить", "Saved.": "Сохранено.",
    "Times on every page are shown in this zone:": "Время на всех страницах показано в поясе:",
    "Something went wrong": "Что-то пошло не так",
    # messages from the server
    "Wrong name or password": "Неверное имя или пароль",
    "Too many failed attempts; wait a little": "Слишком много неудачных попыток; подождите немного",
    "The form expired; please try again": "Форма устарела; попробуйте ещё раз",
    "Log in over HTTPS": "Входите по HTTPS", "Not allowed for your role": "Недоступно для вашей роли",
    "Reports are for managers and administrators": "Отчёты доступны руководителям и администраторам.",
    "no such lead": "Обращение не найдено.", "no such deal": "Сделка не найдена.",
    "not in Unsorted": "Обращения уже нет в неразобранном.",
    "operators act on Unsorted and their own leads": "Операторы работают с неразобранным и своими обращениями.",
    # the script's words (sent to it in data attributes)
    "Accepted": "Принято", "Declined": "Отклонено", "Linked": "Привязано", "Sent": "Отправлено",
    "Merged": "Объединено", "Requeued": "Поставлено в очередь", "Undo": "Отменить",
    "Back in Unsorted": "Возвращено в неразобранное", "Taken by": "Уже забрал(а)", "at": "в",
    "selected": "отмечено", "done": "готово", "not done": "не вышло", "Searching…": "Ищем…",
    "The session ended: log in again": "Сеанс закончился: войдите снова", "Next lead opened": "Открыто следующее",
    "The queue is empty": "Очередь пуста", "Queued again:": "Поставлено в очередь:",
    "No connection: check the network and try again": "Нет связи с сервером: проверьте сеть и повторите",
    "Failed": "Не удалось",
    # sending out: sinks, call back, mail replies
    "Reply by mail": "Ответить письмом", "Sent on to": "Передано в CRM",
    "What was said": "Сообщение", "open": "открыть", "Send again": "Отправить ещё раз",
    "Sinks": "Передача в CRM", "Sink": "CRM",
    "Waiting": "В очереди", "No sinks configured.": "Передача в CRM не настроена.",
}


_ENUMS.update(DEAL_ENUMS)
_RU.update(DEAL_WORDS)


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
