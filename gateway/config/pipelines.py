"""Settings of the pipelines: their stages, which of them close a deal, their triggers; and the tasks' settings."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.core.automation import WorkingHours

__all__ = ["UNSORTED", "PipelineSettings", "TasksSettings", "TriggerSettings", "TriggerWhen"]

UNSORTED = "Неразобранное"
WON_NAMES = ("Успешно", "Успешно реализовано", "Won")
LOST_NAMES = ("Отказ", "Закрыто и не реализовано", "Lost")
CREATED = "created"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerWhen(_Section):
    """Conditions of a trigger: each one given must hold (a list holds when any of its values does)."""

    source: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    budget_at_least: float | None = None
    working_hours: str | None = None  # "09:00-18:00" in the company's time zone: outside them the action waits

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            WorkingHours.parse(value)  # ValueError names what is wrong
        return value


class TriggerSettings(_Section):
    """One action of the digital pipeline: run when a deal is created in the pipeline or enters a stage."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\s:|]+$")
    on: str = Field(min_length=1)  # a stage name, or "created"
    action: Literal["webhook", "task", "tag", "responsible", "stage", "message"]
    delay_minutes: float = Field(default=0, ge=0, le=60 * 24 * 90)
    when: TriggerWhen = Field(default_factory=TriggerWhen)
    url: str | None = None  # webhook
    secret: str | None = Field(default=None, min_length=8)
    text: str | None = Field(default=None, min_length=1, max_length=4096)  # task, message
    due_minutes: float = Field(default=60, ge=0)  # task
    responsible: str | None = None  # task: whose (default: the deal's)
    add: list[str] = Field(default_factory=list)  # tag
    remove: list[str] = Field(default_factory=list)
    user: str | None = None  # responsible
    round_robin: list[str] = Field(default_factory=list)
    to: str | None = None  # stage

    @model_validator(mode="after")
    def _what_the_action_needs(self) -> Self:
        needs = {"webhook": self.url and self.secret, "task": self.text, "tag": self.add or self.remove,
                 "responsible": bool(self.user) != bool(self.round_robin), "stage": self.to,
                 "message": self.text}
        if not needs[self.action]:
            raise ValueError({
                "webhook": "a webhook trigger needs url and secret", "task": "a task trigger needs text",
                "tag": "a tag trigger needs add or remove", "stage": "a stage trigger needs to",
                "responsible": "a responsible trigger needs user or round_robin (one of them)",
                "message": "a message trigger needs text"}[self.action])
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url: an http(s) address is expected")
        return self

    @property
    def event_type(self) -> str:
        return "deal.created" if self.on == CREATED else "deal.stage_entered"


class PipelineSettings(_Section):
    name: str = Field(min_length=1)
    stages: list[str] = Field(min_length=1)
    won_stage: str | None = None  # the stage that closes a deal as won; default: the second to last
    lost_stage: str | None = None  # and as lost; default: the last
    won: str | None = None  # the older names of the same two settings
    lost: str | None = None
    triggers: list[TriggerSettings] = Field(default_factory=list)

    @field_validator("stages")
    @classmethod
    def _unsorted_first(cls, stages: list[str]) -> list[str]:
        rest = [s for s in stages if s != UNSORTED]
        if len(set(rest)) != len(rest):
            raise ValueError("stage names must be unique")
        return [UNSORTED, *rest]

    @model_validator(mode="after")
    def _stages_named_exist(self) -> Self:
        for key in ("won_stage", "lost_stage", "won", "lost"):
            value = getattr(self, key)
            if value is not None and value not in self.stages[1:]:
                raise ValueError(f"{key}: no stage {value!r} in pipeline {self.name!r}")
        for t in self.triggers:
            if t.on != CREATED and t.on not in self.stages[1:]:
                raise ValueError(f"triggers.{t.name}.on: no stage {t.on!r} (or \"created\") in {self.name!r}")
            if t.to is not None and t.to not in self.stages[1:]:
                raise ValueError(f"triggers.{t.name}.to: no stage {t.to!r} in pipeline {self.name!r}")
        return self

    def closing_stages(self) -> tuple[str | None, str | None]:
        """(won, lost): as named; else the stages called Успешно/Отказ; else the last two (with a working one left)."""
        won, lost = self.won_stage or self.won, self.lost_stage or self.lost
        working = self.stages[1:]
        if won is None:
            won = next((s for s in working if s in WON_NAMES), None)
        if lost is None:
            lost = next((s for s in working if s in LOST_NAMES), None)
        if won is None and lost is None and len(working) >= 3:
            won, lost = working[-2], working[-1]
        return won, lost

    def triggers_on(self, on: str) -> list[TriggerSettings]:
        return [t for t in self.triggers if t.on == on]


class TasksSettings(_Section):
    callback_minutes: float = Field(default=15, ge=0)  # a missed incoming call -> "Перезвонить" due in this many
    callback_text: str = Field(default="Перезвонить", min_length=1)
    line_owners: dict[str, str] = Field(default_factory=dict)  # number dialled -> the user who owns that line
