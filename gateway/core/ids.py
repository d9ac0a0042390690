"""The range of a stored row's id: every id column is a signed 64-bit integer (BIGINT, SQLite's INTEGER)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["MAX_ID", "Id"]

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a body field naming a stored row: larger ones would overflow the driver
