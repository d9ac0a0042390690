"""Site forms: `FormsConnector(settings)`, the edge routes and the parser of stored submissions."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.config.forms import FormSettings
from gateway.connectors.base import FileStore, Outcome, ParseContext, Route, StoredEvent
from gateway.connectors.webforms.edge import CHANNEL, FormsEdge
from gateway.connectors.webforms.parser import interaction_of, load_submission

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["FormsConnector", "SubmissionIds"]


class SubmissionIds:
    """Random 128-bit hex ids, drawn from the OS 256 at a time.

    One `os.urandom` call per id releases the GIL on the hot path; under load, with the
    event writer's thread runnable, winning it back averaged about 75 µs a call in a profile
    of the gateway here (0.5 µs when idle).
    """

    def __init__(self, batch: int = 256) -> None:
        self._batch = batch
        self._pool = b""
        self._pid = 0

    def __call__(self) -> str:
        if len(self._pool) < 16 or self._pid != os.getpid():  # refilled after a fork: no shared ids
            self._pool, self._pid = os.urandom(16 * self._batch), os.getpid()
        taken, self._pool = self._pool[:16], self._pool[16:]
        return taken.hex()


class FormsConnector:
    """Every `[[forms]]` entry behind one route; see `edge.py` for what the edge answers."""

    channel = CHANNEL

    def __init__(self, settings: Settings, *, files: FileStore | None = None,
                 new_id: Callable[[], str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._forms = {form.id: form for form in settings.forms}
        self._file_store = files
        self.edge = FormsEdge(settings.forms, settings.http.max_body_kb * 1024, self._files,
                              new_id or SubmissionIds(), clock)

    def _files(self) -> FileStore:
        if self._file_store is None:
            self._file_store = FileStore(self._settings.files_dir)
        return self._file_store

    def routes(self) -> list[Route]:
        return self.edge.routes()

    def form(self, form_id: str) -> FormSettings:
        """A form's settings; one removed from the configuration since falls back to the defaults."""
        return self._forms.get(form_id) or FormSettings(id=form_id if form_id else "unknown")

    def process(self, event: StoredEvent, ctx: ParseContext) -> Outcome:
        submission = load_submission(event.body)
        interaction = interaction_of(submission, self.form(event.account))
        return Outcome(interactions=[interaction])
