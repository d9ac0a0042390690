"""Pydantic models of Mango's notification payloads (numbers arrive as strings or integers)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

__all__ = [
    "CallEvent",
    "DtmfEvent",
    "Party",
    "RecordAdded",
    "RecordingEvent",
    "StatsCall",
    "StatsLeg",
    "SummaryEvent",
]


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
_LATIN = str.maketrans("СсОоАаЕеРрМТВК", "CcOoAaEePpMTBK")


def _latin(value: Any) -> Any:
    """The PDF spells `CC` and `MissGroupСallCallback` with Cyrillic letters: compare in Latin."""
    return value.translate(_LATIN) if isinstance(value, str) else value
OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


def _object(value: Any) -> Any:
    """Mango (PHP) may send an empty object as `[]` or leave it out."""
    if value is None or value == [] or value == "":
        return {}
    return value


class Party(_Payload):
    extension: OptStr = None
    number: OptStr = None
    line_number: OptStr = None
    acd_group: OptStr = None
    taken_from_call_id: OptStr = None
    was_transferred: bool = False
    hold_initiator: bool = False


PartyField = Annotated[Party, BeforeValidator(_object)]


class Dct(_Payload):
    number: OptStr = None
    type: OptInt = None


class CallEvent(_Payload):
    """`/events/call`: one state change of one leg (§3.1.2)."""

    entry_id: str
    call_id: str
    timestamp: int
    seq: int
    call_state: str
    location: OptStr = None
    from_: PartyField = Field(default_factory=Party, alias="from")
    to: PartyField = Field(default_factory=Party)
    dct: Annotated[Dct, BeforeValidator(_object)] = Field(default_factory=Dct)
    disconnect_reason: OptInt = None
    transfer: OptStr = None
    command_id: OptStr = None
    task_id: OptInt = None
    callback_initiator: Annotated[OptStr, BeforeValidator(_latin)] = None


class SummaryEvent(_Payload):
    """`/events/summary`: the end of the whole call (§3.1.6)."""

    entry_id: str
    call_direction: OptInt = None
    from_: PartyField = Field(default_factory=Party, alias="from")
    to: PartyField = Field(default_factory=Party)
    line_number: OptStr = None
    create_time: int = 0
    forward_time: int = 0
    talk_time: int = 0
    end_time: int = 0
    entry_result: OptInt = None
    disconnect_reason: OptInt = None

    @field_validator("create_time", "forward_time", "talk_time", "end_time", mode="before")
    @classmethod
    def _zero_when_blank(cls, value: Any) -> Any:
        return 0 if value is None or value == "" else value


class RecordingEvent(_Payload):
    """`/events/recording`: the recording process (§3.1.4)."""

    recording_id: str
    recording_state: OptStr = None
    seq: OptInt = None
    entry_id: OptStr = None
    call_id: OptStr = None
    extension: OptStr = None
    timestamp: OptInt = None
    completion_code: OptInt = None


class RecordAdded(_Payload):
    """`/events/record/added` and `/events/record/tagged`: a stored recording (§3.1.7, §3.1.8)."""

    entry_id: OptStr = None
    recording_id: str
    timestamp: OptInt = None
    user_id: OptInt = None


class DtmfEvent(_Payload):
    """`/events/dtmf`: digits collected in the IVR (§3.1.5)."""

    entry_id: OptStr = None
    call_id: OptStr = None
    seq: OptInt = None
    dtmf: OptStr = None
    timestamp: OptInt = None
    location: OptStr = None


def _as_list(value: Any) -> Any:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


class StatsLeg(_Payload):
    call_end_reason: OptInt = None
    recording_id: Annotated[list[str], BeforeValidator(_as_list)] = Field(default_factory=list)


class StatsCall(_Payload):
    """One call of `/vpbx/stats/calls/result/` (§3.4.2.3): what reconciliation stores."""

    entry_id: str
    context_type: OptInt = None  # 1 incoming, 2 outgoing, 3 internal
    context_status: OptInt = None  # 1 successful
    caller_number: OptStr = None
    called_number: OptStr = None
    context_start_time: OptInt = None
    duration: OptInt = None
    talk_duration: OptInt = None
    context_calls: Annotated[list[StatsLeg], BeforeValidator(_as_list)] = Field(default_factory=list)
