"""Golden files: expected outputs kept beside the fixtures, rewritten only on purpose and never in CI.

`MANGO_REGENERATE=1`, `MAIL_REGENERATE=1` or `FORMS_REGENERATE=1` rewrites a golden file with what the
code gives now, so the change is reviewed as a diff. In CI (`CI` set to anything but false/0) such a
variable would turn every golden test into one that cannot fail, so it stops the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

__all__ = ["VARIABLES", "check_not_in_ci", "regenerating"]

VARIABLES = ("MANGO_REGENERATE", "MAIL_REGENERATE", "FORMS_REGENERATE")


def _in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def check_not_in_ci(env: Mapping[str, str] = os.environ) -> None:
    """Refuse to run in CI with a regenerate variable set (the golden tests would compare a file with itself)."""
    chosen = sorted(name for name in VARIABLES if env.get(name))
    if chosen and _in_ci(env):
        raise pytest.UsageError(
            f"{', '.join(chosen)} is set in CI: golden files would be rewritten instead of checked. "
            "Unset it in the CI job; regenerate locally and commit the reviewed diff.")


def regenerating(variable: str, env: Mapping[str, str] = os.environ) -> bool:
    """Whether this run rewrites the golden files named by `variable`; in CI, a failure instead."""
    assert variable in VARIABLES, variable
    if not env.get(variable):
        return False
    if _in_ci(env):
        pytest.fail(f"{variable} is set in CI: golden files are checked there, never rewritten", pytrace=False)
    return True
