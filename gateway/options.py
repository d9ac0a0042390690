"""Command-line options every `gateway` subcommand shares, so that each accepts them the same way."""

from __future__ import annotations

import argparse

__all__ = ["CONFIG_HELP", "config_option"]

CONFIG_HELP = "the settings file (default: $GATEWAY_CONFIG, else ./gateway.toml)"


def config_option() -> argparse.ArgumentParser:
    """A parent parser with `--config FILE`.

    Give it to a command and to each of its subcommands (`parents=[config_option()]`): the option is
    then accepted before or after the subcommand's name, and read with `getattr(args, "config", None)`.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return parent
