"""Command-line options every `gateway` subcommand shares, so that each accepts them the same way."""

from __future__ import annotations

import argparse

__all__ = ["CONFIG_HELP", "Actions", "config_first", "config_option"]

CONFIG_HELP = "the settings file (default: $GATEWAY_CONFIG, else ./gateway.toml)"


def config_option() -> argparse.ArgumentParser:
    """A parent parser with `--config FILE`.

    Give it to a command and to each of its subcommands (`parents=[config_option()]`): the option is
    then accepted before or after the subcommand's name, and read with `getattr(args, "config", None)`.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return parent


class Actions:
    """A command made of actions (`gateway mail import`, `gateway telegram set-webhook`), each taking --config."""

    def __init__(self, prog: str, description: str, dest: str = "cmd") -> None:
        self._common = config_option()
        self.parser = argparse.ArgumentParser(prog=prog, description=description, parents=[self._common])
        self._actions = self.parser.add_subparsers(dest=dest, required=True, metavar="ACTION")

    def add(self, name: str, help_: str, description: str = "") -> argparse.ArgumentParser:
        """An action; its description defaults to its help as a sentence."""
        return self._actions.add_parser(name, parents=[self._common], help=help_,
                                        description=description or help_[0].upper() + help_[1:] + ".")


def config_first(argv: list[str]) -> list[str]:
    """`--config FILE COMMAND ...` as `COMMAND --config FILE ...`, so that the command's own parser reads it."""
    if argv[:1] == ["--config"] and len(argv) >= 3:
        return [argv[2], *argv[:2], *argv[3:]]
    if argv[:1] and argv[0].startswith("--config=") and len(argv) >= 2:
        return [argv[1], argv[0], *argv[2:]]
    return argv
