"""Golden files are rewritten only on purpose, never in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.golden import VARIABLES, check_not_in_ci, regenerating

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_regenerate_variable_in_ci_stops_the_run(variable: str) -> None:
    with pytest.raises(pytest.UsageError, match=variable):
        check_not_in_ci({"CI": "true", variable: "1"})
    with pytest.raises(pytest.fail.Exception, match=f"{variable} is set in CI"):
        regenerating(variable, {"CI": "true", variable: "1"})


@pytest.mark.parametrize("env", [{}, {"CI": "true"}, {"MANGO_REGENERATE": "1"}, {"CI": "false", "MAIL_REGENERATE": "1"},
                                 {"CI": "0", "FORMS_REGENERATE": "1"}])
def test_outside_ci_or_without_the_variable_the_run_goes_on(env: dict[str, str]) -> None:
    check_not_in_ci(env)
    assert [regenerating(v, env) for v in VARIABLES] == [bool(env.get(v)) for v in VARIABLES]


def test_pytest_in_ci_with_mango_regenerate_fails_and_rewrites_nothing() -> None:
    golden = ROOT / "tests" / "fixtures" / "mango" / "expected" / "outgoing_answered.json"
    before = golden.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_REGENERATE")} | {
        "CI": "true", "MANGO_REGENERATE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "reviewed and outgoing",
         "tests/connectors/telephony/mango/test_mango_fold.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0, run.stdout[-2000:]
    assert "MANGO_REGENERATE is set in CI" in run.stdout + run.stderr
    assert golden.read_bytes() == before
