"""Realistic Mango call flows (the notifications one call produces), for the simulator and benchmarks."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.connectors.telephony.mango.signature import compact_json

__all__ = ["KINDS", "Flow", "FlowFactory"]

KINDS = ("incoming_ivr_group", "missed", "transferred", "outgoing", "internal", "callback")
Delivery = tuple[str, str]  # (event name, exact json string)


@dataclass(slots=True)
class Flow:
    kind: str
    entry_id: str
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass(slots=True)
class _Call:
    entry_id: str
    t: int
    line: str
    legs: int = 0
    out: list[Delivery] = field(default_factory=list)

    def leg(self) -> str:
        self.legs += 1
        return _b64(f"{self.entry_id}:call:{self.legs}")

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        self.out.append((name, compact_json(payload)))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FlowFactory:
    """Deterministic for a seed; `start` is the epoch of the first call."""

    def __init__(self, *, seed: int, start: int, lines: list[str], extensions: list[str], group: str = "300",
                 product: int = 400000001) -> None:
        self.rng = random.Random(seed)
        self.t = start
        self.lines = lines or ["74951234567"]
        self.extensions = extensions or ["101", "102"]
        self.group = group
        self.product = product
        self.count = 0
        self.missed: list[str] = []  # numbers to call back

    def next(self, kind: str | None = None) -> Flow:
        kind = kind or self.rng.choice(KINDS)
        if kind == "callback" and not self.missed:
            kind = "missed"
        self.count += 1
        self.t += self.rng.randint(5, 60)
        entry = _b64(f"{self.product}:sim:{self.t}:{self.count}")
        call = _Call(entry, self.t, self.rng.choice(self.lines))
        builders: dict[str, Callable[[_Call], None]] = {
            "incoming_ivr_group": self._ivr_group, "missed": self._missed, "transferred": self._transferred,
            "outgoing": self._outgoing, "internal": self._internal, "callback": self._callback,
        }
        builders[kind](call)
        return Flow(kind, entry, call.out)

    def _phone(self) -> str:
        return "79" + "".join(str(self.rng.randint(0, 9)) for _ in range(9))

    def _sip(self, ext: str) -> str:
        return f"sip:user{ext}@vpbx{self.product}.mangosip.ru"

    def _ext(self, not_: str | None = None) -> str:
        return self.rng.choice([e for e in self.extensions if e != not_] or self.extensions)

    def _state(self, c: _Call, cid: str, seq: int | str, at: int | str, state: str, loc: str, frm: dict[str, Any],
               to: dict[str, Any], **extra: Any) -> None:
        c.emit("call", {"entry_id": c.entry_id, "call_id": cid, "timestamp": at, "seq": seq, "call_state": state,
                        "location": loc, "from": frm, "to": to, **extra})

    def _summary(self, c: _Call, direction: int, frm: dict[str, Any], to: dict[str, Any], *, talk: int, end: int,
                 reason: int, line: bool = True) -> None:
        body: dict[str, Any] = {"entry_id": c.entry_id, "call_direction": direction, "from": frm, "to": to}
        if line:
            body["line_number"] = c.line
        body.update(create_time=c.t, forward_time=c.t if talk else 0, talk_time=talk, end_time=end,
                    entry_result=1 if talk else 0, disconnect_reason=reason)
        c.emit("summary", body)

    def _recording(self, c: _Call, at: int) -> None:
        c.emit("record/added", {"entry_id": c.entry_id, "product_id": self.product, "user_id": 400000100,
                                "timestamp": at, "recording_id": _b64(f"{c.entry_id}:rec")})

    def _ivr_group(self, c: _Call) -> None:
        client, ext, cid = self._phone(), self._ext(), c.leg()
        frm = {"number": client}
        to_q = {"number": c.line, "line_number": c.line, "acd_group": self.group}
        to_emp = {"extension": ext, "number": self._sip(ext), "line_number": c.line, "acd_group": self.group}
        talk, end = c.t + 14, c.t + 14 + self.rng.randint(20, 400)
        self._state(c, cid, 1, c.t, "Appeared", "ivr", frm, {"number": c.line, "line_number": c.line})
        self._state(c, cid, 2, c.t + 1, "Connected", "ivr", frm, {"number": c.line, "line_number": c.line})
        c.emit("dtmf", {"seq": 1, "dtmf": str(self.rng.randint(1, 3)), "timestamp": c.t + 6, "call_id": cid,
                        "entry_id": c.entry_id, "location": "ivr", "initiator": client, "line_number": c.line})
        self._state(c, cid, 3, c.t + 7, "Appeared", "queue", frm, to_q)
        self._state(c, cid, 4, c.t + 9, "Appeared", "abonent", frm, to_emp)
        self._state(c, cid, 5, talk, "Connected", "abonent", frm, to_emp)
        self._state(c, cid, 6, end, "Disconnected", "abonent", frm, to_emp, disconnect_reason=1110)
        self._summary(c, 1, frm, {"extension": ext, "number": self._sip(ext)}, talk=talk, end=end, reason=1110)
        self._recording(c, end + 30)

    def _missed(self, c: _Call) -> None:
        client, cid = self._phone(), c.leg()
        self.missed.append(client)
        frm, to = {"number": client}, {"number": c.line, "line_number": c.line, "acd_group": self.group}
        end = c.t + self.rng.randint(5, 60)
        self._state(c, cid, 1, c.t, "Appeared", "queue", frm, to)
        self._state(c, cid, "2", str(end), "Disconnected", "queue", frm, to, disconnect_reason="1110")  # as strings
        self._summary(c, 1, frm, {"extension": self.group}, talk=0, end=end, reason=1110)

    def _transferred(self, c: _Call) -> None:
        client, a = self._phone(), self._ext()
        b = self._ext(not_=a)
        first, second = c.leg(), c.leg()
        frm, to_a = {"number": client}, {"extension": a, "number": self._sip(a), "line_number": c.line}
        to_b = {"extension": b, "number": self._sip(b), "line_number": c.line}
        moved = {"number": client, "taken_from_call_id": first}
        end = c.t + 60 + self.rng.randint(10, 300)
        self._state(c, first, 1, c.t, "Appeared", "abonent", frm, to_a)
        self._state(c, first, 2, c.t + 5, "Connected", "abonent", frm, to_a)
        self._state(c, second, 1, c.t + 40, "Appeared", "abonent", moved, to_b, transfer="blind")
        self._state(c, first, 3, c.t + 41, "Disconnected", "abonent", frm, to_a, disconnect_reason=1100)
        self._state(c, second, 2, c.t + 47, "Connected", "abonent", moved, to_b, transfer="blind")
        self._state(c, second, 3, end, "Disconnected", "abonent", moved, to_b, disconnect_reason=1110)
        self._summary(c, 1, frm, {"extension": a, "number": self._sip(a)}, talk=c.t + 5, end=end, reason=1110)

    def _outgoing(self, c: _Call, client: str | None = None, command: str | None = None) -> None:
        ext, cid = self._ext(), c.leg()
        client = client or self._phone()
        emp = {"extension": ext, "number": self._sip(ext)}
        extra = {"command_id": command, "callback_initiator": "API"} if command else {}
        answered = self.rng.random() < 0.7 or command is not None
        end = c.t + (self.rng.randint(20, 300) if answered else 25)
        self._state(c, cid, 1, c.t, "Appeared", "abonent", emp, {"number": client}, **extra)
        if answered:
            self._state(c, cid, 2, c.t + 8, "Connected", "abonent", emp, {"number": client}, **extra)
        self._state(c, cid, 3 if answered else 2, end, "Disconnected", "abonent", emp, {"number": client},
                    disconnect_reason=1100 if answered else 1121, **extra)
        self._summary(c, 2, emp, {"number": client}, talk=c.t + 8 if answered else 0, end=end,
                      reason=1100 if answered else 1121)

    def _internal(self, c: _Call) -> None:
        a = self._ext()
        b = self._ext(not_=a)
        cid, frm, to = c.leg(), {"extension": a, "number": self._sip(a)}, {"extension": b, "number": self._sip(b)}
        self._state(c, cid, 1, c.t, "Appeared", "abonent", frm, to)
        self._state(c, cid, 2, c.t + 3, "Connected", "abonent", frm, to)
        self._state(c, cid, 3, c.t + 40, "Disconnected", "abonent", frm, to, disconnect_reason=1110)
        self._summary(c, 0, frm, to, talk=c.t + 3, end=c.t + 40, reason=1110, line=False)

    def _callback(self, c: _Call) -> None:
        client = self.missed.pop(0)
        command = f"cb-{self.count}"
        self._outgoing(c, client=client, command=command)
        c.emit("result/callback", {"command_id": command, "result": 1000})
