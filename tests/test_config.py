"""Settings: the contract's example loads unchanged; a wrong setting is one line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.core.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "CONTRACT.md"
ROOT = Path(__file__).resolve().parents[1]


def contract_example() -> str:
    source = SHARED if SHARED.exists() else ROOT / "tests/fixtures/contract.toml"
    text = source.read_text(encoding="utf-8")
    match = re.search(r"```toml\n(.*?)```", text, re.S)
    return match.group(1) if match else text


def test_contract_example_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(contract_example(), encoding="utf-8")
    s = load_settings(path)
    assert s.telephony.mango[0].lines["74951234567"] == "Яндекс.Директ"
    assert s.telephony.mango[0].extensions == {"101": "ivanov"}
    assert s.forms[0].stage == "Лид"
    assert s.pipelines[0].stages[0] == "Неразобранное"
    assert s.email.mailboxes[0].poll_seconds == 60


def test_example_file_loads() -> None:
    s = load_settings(ROOT / "gateway.example.toml")
    assert s.pipelines


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(None)
    assert s.config_loaded_from is None
    assert len(s.pipelines) == 1


@pytest.mark.parametrize(("toml", "expect"), [
    ("[quality]\nshort_call_seconds = -1\n", "quality.short_call_seconds"),
    ("[quality]\nshort_call_secs = 5\n", "quality.short_call_secs"),
    ("[[forms]]\nid = 'f'\nstage = 'Нет такого'\n", "forms.f.stage"),
    ("[[telephony.mango]]\naccount = 'a'\n", "telephony.mango.0.api_key"),
])
def test_wrong_setting_names_the_key(tmp_path: Path, toml: str, expect: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert expect in str(err.value)


def test_cli_prints_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[quality]\nshort_call_seconds = 'many'\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "gateway", "migrate", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "config error: quality.short_call_seconds: Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')"
    ]
    assert "Traceback" not in proc.stderr
