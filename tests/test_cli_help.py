"""Every command's help reads well: its own usage line, a description, and a help text for every option."""

from __future__ import annotations

import re
import sys

import pytest

from gateway.cli import DELEGATED, main
from gateway.simulate import SIMULATORS

NESTED = {
    "user": ["add", "list", "disable", "enable", "token", "password"],
    "mail": ["import"],
    "mango": ["reconcile"],
    "telegram": ["set-webhook", "webhook-info", "delete-webhook"],
}
TOP = ["demo", "serve", "worker", "migrate", "replay", "user", *(c for c in DELEGATED if c != "simulate")]
COMMANDS = [[], *([c] for c in TOP), *([c, s] for c, subs in NESTED.items() for s in subs),
            ["simulate"], *(["simulate", k] for k in SIMULATORS)]
SECTION = re.compile(r"^(options|positional arguments|commands|kinds|filters):$")


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main([*argv, "--help"])
    except SystemExit as exc:  # argparse's own --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def undocumented(text: str) -> list[str]:
    """Entries of the options and commands sections that have no help text beside or under them."""
    lines = text.splitlines()
    missing = []
    in_section = False
    for i, line in enumerate(lines):
        if SECTION.match(line):
            in_section = True
            continue
        if not line.strip() or not line.startswith(" "):
            in_section = in_section and bool(line.strip())
            continue
        entry = re.match(r"^( {2}| {4})(\S.*)$", line)
        if not in_section or entry is None or entry.group(2).isupper():  # `COMMAND`: argparse's group heading
            continue
        has_help_beside = re.search(r"\S {2,}\S", entry.group(2)) is not None
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        has_help_under = len(nxt) - len(nxt.lstrip()) > len(entry.group(1)) + 2
        if not (has_help_beside or has_help_under):
            missing.append(line.strip())
    return missing


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "gateway")
def test_help_reads_well(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(argv, capsys)
    assert text.startswith(f"usage: {' '.join(['gateway', *argv])} ")  # its own name, not another's
    paragraphs = [p for p in text.split("\n\n")[1:] if p and not p.startswith(" ") and not SECTION.match(p)]
    assert paragraphs and len(paragraphs[0]) > 15, "a description says what the command does"
    assert undocumented(text) == []
    assert "\t" not in text and "see `gateway" not in text
    if argv[:1] not in ([], ["simulate"]) or len(argv) == 2:
        assert "--config FILE" in text  # accepted everywhere, the same way


def test_the_checker_finds_an_option_without_help() -> None:
    text = "usage: x\n\nSomething.\n\noptions:\n  -h, --help  show this\n  --bare\n  --sep {a,b}\n"
    assert undocumented(text) == ["--bare", "--sep {a,b}"]


def test_simulate_without_a_kind_says_which_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    err = capsys.readouterr().err
    assert "usage: gateway simulate KIND" in err and all(k in err for k in SIMULATORS)
    assert main(["simulate", "fax"]) == 2
    assert "unknown kind 'fax'" in capsys.readouterr().err


def test_python_dash_m_works_too() -> None:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "demo" in proc.stdout
