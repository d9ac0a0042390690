"""Click-to-call: Mango's `commands/callback` rings the operator's extension, then the client.

The command is an outbox job (kind `mango.callback`), signed like every Mango request. Its
result comes back asynchronously to `/hooks/mango/{account}/result/callback` (or the `vpbx/`
variant) and is stored as an event grouped under the command's id; the call that follows
carries the same `command_id` and is folded like any outgoing call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.config.mango import MangoSettings
from gateway.connectors.telephony.mango.signature import signed_form
from gateway.connectors.telephony.mango.vpbx import raise_for_mango
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError, UpstreamError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.egress import AsyncOutboundClient

__all__ = ["KIND", "CallbackPerformer", "command_group", "command_payload", "command_result", "result_words"]

KIND = "mango.callback"
DELAYS = (3.0, 10.0)  # a callback that comes minutes late rings a surprised operator: few, quick retries


def command_group(command_id: str) -> str:
    """The event-log group of a command's result events."""
    return f"command:{command_id}"


def command_payload(command_id: str, extension: str, to_number: str, line: str | None) -> dict[str, Any]:
    """The `json` of `/vpbx/commands/callback` (Mango §3.2.1)."""
    body: dict[str, Any] = {"command_id": command_id, "from": {"extension": extension},
                            "to_number": to_number.lstrip("+")}
    if line:
        body["line_number"] = line
    return body


def result_words(code: int | None) -> str:
    """A command's result in plain Russian (Mango's list of result codes, by class)."""
    if code is None:
        return "АТС ещё не ответила"
    if code in (1000, 1001):
        return "АТС приняла команду: звонит вашему телефону, затем клиенту"
    if 2000 <= code < 3000:
        return f"АТС не разрешила звонок: ограничение тарифа или баланса (код {code})"
    if code == 3102 or code == 3105:
        return f"АТС не приняла подпись или ключ: проверьте api_key и api_salt в настройках (код {code})"
    if 3000 <= code < 4000:
        return f"АТС отклонила команду: неверный номер или внутренний номер сотрудника (код {code})"
    if code == 4001:
        return "АТС не поддерживает эту команду (код 4001)"
    if 4000 <= code < 5000:
        return f"Позвонить сейчас нельзя: абонент недоступен или звонок запрещён (код {code})"
    return f"Ошибка на стороне АТС, попробуйте ещё раз через минуту (код {code})"


def command_result(body: bytes) -> dict[str, Any]:
    """A stored `result/<command>` event, read: its command, code and the code in words."""
    try:
        data = json.loads(body)
        code = int(data["result"]) if data.get("result") is not None else None
    except (ValueError, TypeError, AttributeError):
        return {"command_id": None, "result": None, "message": "АТС прислала непонятный ответ"}
    return {"command_id": data.get("command_id"), "result": code, "message": result_words(code)}


class CallbackPerformer:
    """Sends `mango.callback` jobs: the target is the Mango account, the payload the command."""

    kind = KIND

    def __init__(self, accounts: Mapping[str, MangoSettings], http: AsyncOutboundClient,
                 concurrency: int = 4) -> None:
        self.accounts, self.http = accounts, http
        self.concurrency, self.delays = concurrency, DELAYS

    async def perform(self, job: Job) -> JobOutcome:
        conf = self.accounts.get(job.target)
        if conf is None:
            return Dead(f"в настройках нет АТС {job.target!r}")
        form = signed_form(conf.api_key, conf.api_salt, dict(job.payload))
        try:
            resp = await self.http.send_once("POST", conf.base_url() + "commands/callback", data=form)
            raise_for_mango(resp, "commands/callback")
        except TransientUpstreamError as exc:
            return Retry(f"АТС недоступна: {exc.message}", after=exc.retry_after)
        except PermanentUpstreamError as exc:
            code = exc.details.get("result")
            return Dead(result_words(int(code)) if isinstance(code, int) else f"АТС отказала: {exc.message}",
                        status_code=resp.status_code)
        except UpstreamError as exc:
            return Retry(exc.message)
        return Done(result={"command_id": job.payload.get("command_id"), "accepted": True},
                    status_code=resp.status_code)
