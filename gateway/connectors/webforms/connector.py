"""Site forms: `FormsConnector(settings)`, the edge routes and the parser of stored submissions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.connectors.base import Outcome, ParseContext, Route, StoredEvent
from gateway.connectors.webforms.edge import CHANNEL, FormsEdge
from gateway.connectors.webforms.parser import interaction_of, load_submission
from gateway.connectors.webforms.settings import FormSettings
from gateway.store.files import FileStore

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["FormsConnector"]


def _new_submission_id() -> str:
    return uuid.uuid4().hex


class FormsConnector:
    """Every `[[forms]]` entry behind one route; see `edge.py` for what the edge answers."""

    channel = CHANNEL

    def __init__(self, settings: Settings, *, files: FileStore | None = None,
                 new_id: Callable[[], str] = _new_submission_id,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._forms = {form.id: form for form in settings.forms}
        self._file_store = files
        self.edge = FormsEdge(settings.forms, settings.http.max_body_kb * 1024, self._files, new_id, clock)

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
