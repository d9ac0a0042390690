"""What went wrong, in words: the error tree's kinds and the stored `last_error` texts made readable.

Everything the page shows about a failure (an event's last error, a mailbox's poll, a failed action on a
card) goes through `explain`: what happened, whether the gateway will try again by itself, what to do.
The original text stays available for administrators behind a fold; it is never the headline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KINDS", "Problem", "explain", "kind_of"]

_KIND = re.compile(r"^([A-Z]\w*(?:Error|Exception|Denied|Found|Large|Limited|Lead|Conflict))(?::\s*(.*))?$", re.S)

# kind -> (what happened, English) / (Russian); the Russian is what a person reads by default
KINDS: dict[str, tuple[str, str]] = {
    "TransientUpstreamError": ("The other side did not answer in time or was busy",
                               "Сервис на той стороне не ответил или был перегружен"),
    "PermanentUpstreamError": ("The other side refused the request", "Сервис на той стороне отказал в запросе"),
    "UpstreamError": ("A call to the other side failed", "Запрос к внешнему сервису не прошёл"),
    "ConfigError": ("A setting is missing or wrong", "Настройка отсутствует или неверна"),
    "PayloadError": ("What arrived could not be read", "Присланные данные не удалось разобрать"),
    "PayloadTooLarge": ("What arrived is over the size limit", "Присланное больше допустимого размера"),
    "SignatureError": ("The signature or secret did not match", "Подпись или секретный ключ не совпали"),
    "AuthenticationError": ("The login or key was not accepted", "Вход или ключ не приняты"),
    "PermissionDenied": ("Not allowed for your role", "Недоступно для вашей роли"),
    "NotFound": ("It is not there (any more)", "Этого уже нет"),
    "Conflict": ("Someone else got there first", "Кто-то успел раньше"),
    "RateLimited": ("Too many requests in a short time", "Слишком много запросов за короткое время"),
    "NotALead": ("Not a lead", "Это не обращение"),
}
# a known message inside a kind: a more exact headline (English, Russian)
_MESSAGES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple((re.compile(p, re.I), en, ru) for p, en, ru in (
    (r"unreachable|connect(ion)?error|connection refused|name resolution",
     "The other side could not be reached", "Не удалось связаться с внешним сервисом"),
    (r"timeout|timed out", "The other side took too long to answer", "Внешний сервис слишком долго не отвечал"),
    (r"rate limit|429", "The other side asked us to slow down", "Внешний сервис попросил подождать"),
    (r"locked out|invalid-request", "The provider locked our key for a while",
     "Провайдер временно заблокировал наш ключ"),
    (r"recording (not ready|still not available)", "The call recording is not ready at the PBX yet",
     "Запись разговора ещё не готова на АТС"),
    (r"login refused|authenticat", "The mail server did not accept the login or password",
     "Почтовый сервер не принял логин или пароль"),
    (r"being polled by another process", "Another process is reading this mailbox right now",
     "Этот ящик сейчас читает другой процесс"),
    (r"no connector", "No connector is set up for these events", "Для этих событий не настроено подключение"),
    (r"not a mail message|cannot parse the message|empty message", "The message could not be read as a mail",
     "Сообщение не удалось прочитать как письмо"),
    (r"validation|invalid|required|must be", "The other side found the data invalid and did not take it",
     "Внешний сервис не принял данные: они не прошли его проверку"),
    (r"upstream answered (4\d\d)|refused", "The other side refused the request",
     "Внешний сервис отказал в запросе"),
    (r"upstream answered 5\d\d|upstream 5\d\d", "The other side failed on its end", "Внешний сервис дал сбой у себя"),
))
_TODO = {  # kind -> (English, Russian) what a person can do
    "TransientUpstreamError": ("Nothing, unless it keeps failing: then check the provider's status.",
                               "Ничего делать не нужно; если ошибка повторяется, проверьте, работает ли сервис."),
    "PermanentUpstreamError": ("Check the connector's settings and keys, then repeat by hand.",
                               "Проверьте настройки и ключи подключения, затем повторите вручную."),
    "ConfigError": ("Fix the setting named in the details and restart the gateway.",
                    "Исправьте настройку, указанную в подробностях, и перезапустите шлюз."),
    "PayloadError": ("Look at the event's details; repeat after fixing the connector.",
                     "Посмотрите подробности события; повторите после исправления подключения."),
    "Conflict": ("Reload the card to see who took it.", "Обновите карточку, чтобы увидеть, кто его забрал."),
    "PermissionDenied": ("Ask an administrator if you need it.", "Если это нужно, обратитесь к администратору."),
}
_DEFAULT_TODO = ("Repeat it; if it fails again, tell an administrator.",
                 "Повторите; если не получится, сообщите администратору.")


@dataclass(frozen=True, slots=True)
class Problem:
    """A failure as a person reads it."""

    what: str  # what happened
    retry: str  # whether the gateway will try again by itself
    todo: str  # what to do
    kind: str  # the error's kind (for styling and tests), "" when unknown
    original: str  # the stored text, for administrators


def kind_of(text: str) -> tuple[str, str]:
    """(the kind named at the start of a stored error, the rest); a traceback's last line is its headline."""
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    head = lines[-1].strip() if lines and lines[0].startswith("Traceback") else (lines[0].strip() if lines else "")
    match = _KIND.match(head)
    if match:
        return match.group(1), (match.group(2) or "").strip()
    return "", head


def _retry(status: str | None, kind: str, ru: bool) -> str:
    if status == "failed":
        return "Шлюз повторит сам." if ru else "The gateway will try again by itself."
    if status == "dead":
        return ("Шлюз больше не повторяет: нужен повтор вручную." if ru
                else "The gateway has stopped trying: repeat it by hand.")
    if status == "mailbox":
        return "Шлюз попробует при следующем опросе." if ru else "The gateway tries again at the next poll."
    if kind in ("TransientUpstreamError", "RateLimited"):
        return "Можно повторить чуть позже." if ru else "It may work a little later."
    return ""


def explain(text: str | None, *, status: str | None = None, lang: str = "ru", kind: str | None = None) -> Problem:
    """A stored error (or an API error's kind and message) in words; `status` tells whether a retry is planned."""
    ru = lang == "ru"
    found, rest = kind_of(text or "")
    kind = kind or found
    said = rest if found else (text or "")  # the message after the kind's name, never the name itself
    what = next(((ru_w if ru else en) for pattern, en, ru_w in _MESSAGES if said and pattern.search(said)), None)
    if what is None:
        words = KINDS.get(kind) or KINDS.get("UpstreamError" if "Upstream" in kind else "")
        if words:
            what = words[1] if ru else words[0]
        elif kind:  # a kind outside our tree: a fault in the gateway itself
            what = "Внутренний сбой шлюза" if ru else "A fault inside the gateway"
        else:
            what = "Что-то пошло не так" if ru else "Something went wrong"
    todo_words = _TODO.get(kind, _DEFAULT_TODO)
    return Problem(what=what, retry=_retry(status, kind, ru), todo=todo_words[1] if ru else todo_words[0],
                   kind=kind, original=(text or "").strip())
