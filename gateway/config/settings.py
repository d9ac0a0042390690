"""Settings: the environment (GATEWAY_*) over the TOML file over the defaults.

Built once by the CLI and passed down; nothing reads settings at import time.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.config.calltracking import CallTrackingSettings
from gateway.config.email import EmailSettings
from gateway.config.forms import FormSettings
from gateway.config.mango import MangoSettings
from gateway.config.messengers import MessengersSettings
from gateway.config.pipelines import UNSORTED, PipelineSettings, TasksSettings, TriggerSettings
from gateway.config.sinks import SinksSettings
from gateway.core.errors import ConfigError
from gateway.egress import OutboundPolicy

__all__ = ["UNSORTED", "PipelineSettings", "Settings", "TriggerSettings", "load_settings", "read_toml", "settings_from"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QualitySettings(_Section):
    short_call_seconds: int = Field(default=10, ge=0)
    dedupe_minutes: float = Field(default=5, ge=0)
    decline_reasons: list[str] = Field(
        default_factory=lambda: ["Спам", "Ошибся номером", "Не целевой запрос", "Дубль", "Другое"]
    )


class SourceSettings(_Section):
    name: str = Field(min_length=1)
    advertising: bool = True
    group: str | None = None


class RoutingRule(_Section):
    """Where a new person's lead goes; the first matching rule wins."""

    channel: str | None = None
    source: str | None = None
    account: str | None = None
    pipeline: str
    stage: str | None = None  # omit for Unsorted


class ScoringRule(_Section):
    name: str | None = None
    when: Literal[
        "has_phone", "has_email", "corporate_email", "company_and_position", "budget_above", "has_attachment",
        "utm_source", "channel", "has_text", "text_contains", "has_name", "has_company", "kind", "direction",
        "utm_medium", "utm_campaign", "duration_above", "answered",
    ]
    value: str | float | None = None
    points: int


class ScoringSettings(_Section):
    rules: list[ScoringRule] = Field(
        default_factory=lambda: [
            ScoringRule(when="has_phone", points=1),
            ScoringRule(when="corporate_email", points=1),
            ScoringRule(when="company_and_position", points=2),
            ScoringRule(when="budget_above", value=0, points=3),
            ScoringRule(when="has_attachment", points=1),
        ]
    )


class TelephonySettings(_Section):
    mango: list[MangoSettings] = Field(default_factory=list)


class DispatchSettings(_Section):
    batch_size: int = Field(default=500, ge=1, le=10_000)
    commit_every: int = Field(default=500, ge=1, le=10_000)
    write_turn_ms: float = Field(default=10, gt=0, le=10_000)  # SQLite: the longest a processing write may take
    # SQLite, a worker that hears the edge wait (the embedded worker's write gate): the longest while it does not
    write_turn_alone_ms: float = Field(default=250, gt=0, le=10_000)
    # SQLite: the least a processing write holds the lock before it ends early for the edge waiting at the gate
    give_way_after_ms: float = Field(default=5, ge=0, le=10_000)
    # SQLite, the embedded worker: while the edge is overloaded (from a group commit of 32 requests or more, that is
    # acknowledgements queuing, until one of 4 or fewer), the pause before each of the worker's write turns; 0: none
    overload_pause_ms: float = Field(default=100, ge=0, le=10_000)
    embedded_worker: Literal["process", "thread"] = "process"
    embedded_worker_nice: int = Field(default=5, ge=0, le=19)
    # `gateway worker` lowers its CPU priority by as much (Unix niceness; 0: none): on a machine it shares with the
    # server, acknowledgements go first and processing catches up after a burst; alone on its machine it changes nothing
    worker_nice: int = Field(default=5, ge=0, le=19)
    max_attempts: int = Field(default=8, ge=1)
    lease_seconds: float = Field(default=60, gt=0)
    retry_base_seconds: float = Field(default=2, gt=0)
    retry_max_seconds: float = Field(default=3600, gt=0)
    idle_poll_seconds: float = Field(default=0.2, gt=0)
    # The embedded worker, once it has caught up (a batch came back short, or it was woken from idle), waits this
    # long before its next claim: a steady flow is processed in fewer, larger batches, each costing a claim, a
    # transaction and an fsync, for at most this much more delay.
    gather_ms: float = Field(default=20, ge=0, le=1000)
    # The live stream reads the store when processing says leads changed, and at least this often.
    live_poll_seconds: float = Field(default=2, gt=0)
    sweep_seconds: float = Field(default=15, gt=0)
    queue: str = "gateway"


class HttpSettings(_Section):
    max_body_kb: int = Field(default=1024, ge=1)
    # A connection that has not sent a whole request head this long after it opened, or after its last
    # answer, is closed (half-sent headers and idle keep-alive connections alike).
    idle_timeout_seconds: float = Field(default=15, gt=0)
    # A request body from which nothing has arrived for this long is cut off (its connection closed, any
    # upload's temporary file removed).
    body_idle_timeout_seconds: float = Field(default=30, gt=0)
    # Requests whose body is still arriving, at most this many at once; one more gets 503 and Retry-After.
    max_receiving_bodies: int = Field(default=64, ge=1)
    trusted_proxies: list[str] = Field(default_factory=list)  # X-Forwarded-For is read from these

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        import ipaddress

        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad one
        return proxies
    allow_private_outbound: bool = False  # let outbound fetches reach private addresses (tests, LANs)
    outbound_timeout_seconds: float = Field(default=30, gt=0)

    def outbound_policy(self) -> OutboundPolicy:
        """How every outbound call behaves: its timeout, and whether private addresses may be reached."""
        return OutboundPolicy(timeout_s=self.outbound_timeout_seconds, allow_private=self.allow_private_outbound)


class WebhookSubscription(_Section):
    url: str
    events: list[str] = Field(default_factory=lambda: ["lead.created"])
    secret: str = Field(min_length=8)


class AccessSettings(_Section):
    export_admin_only: bool = False
    journal_manager: Literal["taken", "responsible"] = "taken"


class Settings(BaseSettings):
    """Everything the gateway is told, validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="forbid", env_nested_delimiter=None)

    # from the environment (or the file)
    config: Path = Path("gateway.toml")
    database_url: str = "sqlite:///./var/gateway.db"
    # "full": an acknowledged event is fsynced before the 200 (survives power loss); "normal" survives only
    # the process dying, and acknowledges about an eighth more events/s (bench/ingest.py prints both).
    sqlite_synchronous: Literal["full", "normal"] = "full"
    redis_url: str | None = None
    files_dir: Path = Path("var/files")
    log_format: Literal["console", "json"] | None = None
    log_level: str = "info"

    # from the file
    default_region: str = Field(default="RU", min_length=2, max_length=2)
    timezone: str = "Europe/Moscow"
    pipelines: list[PipelineSettings] = Field(
        default_factory=lambda: [
            PipelineSettings(name="Продажи", stages=[UNSORTED, "Лид", "Переговоры", "Счёт", "Успешно", "Отказ"])
        ]
    )
    quality: QualitySettings = Field(default_factory=QualitySettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    routing: list[RoutingRule] = Field(default_factory=list)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    telephony: TelephonySettings = Field(default_factory=TelephonySettings)
    forms: list[FormSettings] = Field(default_factory=list)
    messengers: MessengersSettings = Field(default_factory=MessengersSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    webhooks: list[WebhookSubscription] = Field(default_factory=list)
    sinks: SinksSettings = Field(default_factory=SinksSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    tasks: TasksSettings = Field(default_factory=TasksSettings)
    calltracking: CallTrackingSettings = Field(default_factory=CallTrackingSettings)
    config_loaded_from: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment wins over the file

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        names = [p.name for p in self.pipelines]
        if not names:
            raise ValueError("pipelines: at least one pipeline is needed")
        if len(set(names)) != len(names):
            raise ValueError("pipelines: names must be unique")
        stages = {p.name: p.stages for p in self.pipelines}
        for where, pipeline, stage in [
            *((f"forms.{f.id}", f.pipeline, f.stage) for f in self.forms),
            *((f"routing.{i}", r.pipeline, r.stage) for i, r in enumerate(self.routing)),
        ]:
            if pipeline is not None and pipeline not in stages:
                raise ValueError(f"{where}.pipeline: no pipeline named {pipeline!r}")
            if stage is not None and stage not in stages[pipeline or names[0]]:
                raise ValueError(f"{where}.stage: no stage {stage!r} in pipeline {pipeline or names[0]!r}")
        _unique("telephony.mango.account", [m.account for m in self.telephony.mango])
        _unique("forms.id", [f.id for f in self.forms])
        _unique("email.mailboxes.name", [m.name for m in self.email.mailboxes])
        _unique("messengers.telegram.bot", [t.bot for t in self.messengers.telegram])
        _unique("pipelines.triggers.name", [t.name for p in self.pipelines for t in p.triggers])
        secrets: dict[str, str] = {s.url: s.secret for s in self.webhooks}
        for t in self.all_triggers():
            if t.url is not None and secrets.setdefault(t.url, t.secret or "") != t.secret:
                raise ValueError(f"pipelines.triggers.{t.name}.secret: {t.url} is signed with another secret "
                                 "elsewhere; one address takes one secret")
        return self

    def all_triggers(self) -> list[TriggerSettings]:
        return [t for p in self.pipelines for t in p.triggers]

    def trigger(self, name: str) -> tuple[PipelineSettings, TriggerSettings] | None:
        """The trigger of that name and its pipeline (None when the settings no longer have it)."""
        for p in self.pipelines:
            for t in p.triggers:
                if t.name == name:
                    return p, t
        return None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded(self) -> bool:
        """No Redis: the HTTP process also processes events and polls mail."""
        return self.redis_url is None

    def pipeline(self, name: str | None) -> PipelineSettings:
        for p in self.pipelines:
            if p.name == name:
                return p
        return self.pipelines[0]


def _unique(key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{key}: {v!r} appears twice")
        seen.add(v)


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) or loc.endswith(("password", "secret", "token", "salt", "key")) \
            else f" (got {value!r})"
        lines.append(f"config error: {loc}: {msg}{shown}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML, or ConfigError in one line saying what is wrong with it and what to do."""
    try:
        text = path.read_bytes().decode("utf-8")
    except IsADirectoryError:
        raise ConfigError(f"config error: {path} is a directory, not a file; point --config or GATEWAY_CONFIG at "
                          "the TOML file (docker: create gateway.toml before `docker compose up`)") from None
    except PermissionError:
        raise ConfigError(f"config error: {path}: permission denied; let this user read it") from None
    except OSError as exc:
        raise ConfigError(f"config error: {path}: cannot be read ({exc.strerror or exc}); check the path") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"config error: {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line "
                          f"{line}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {path}: not valid TOML: {exc}") from None


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if there is one) and the environment; raise ConfigError in one line per fault."""
    import os

    path = Path(config_path or os.environ.get("GATEWAY_CONFIG") or "gateway.toml")
    data: dict[str, Any] = {}
    loaded: Path | None = None
    if path.exists():
        data, loaded = read_toml(path), path
    elif config_path is not None:
        raise ConfigError(f"config error: {path}: no such file; copy gateway.example.toml there, or give another "
                          "--config")
    data.update(overrides)
    settings = settings_from(data)
    settings.config = path
    settings.config_loaded_from = loaded
    return settings


def settings_from(data: dict[str, Any]) -> Settings:
    """Settings from already-read file contents (the environment still wins); ConfigError in one line per fault."""
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
