"""`gateway simulate KIND`: the kind's simulator, signing with the settings' accounts, else the demo's."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib import import_module

from gateway.options import config_first, config_option

__all__ = ["SIMULATORS", "main", "simulate_parser"]

# kind -> ("module:function" taking argv and `settings`, help)
SIMULATORS: dict[str, tuple[str, str]] = {
    "mango": ("gateway.connectors.telephony.mango.simulate:main", "Mango Office call flows: incoming, missed, "
              "transferred, outgoing, internal calls and callbacks"),
    "forms": ("gateway.connectors.webforms.simulate:main", "site-form submissions with UTM tags (and files with "
              "--files)"),
    "telegram": ("gateway.connectors.messengers.simulate:main", "Telegram chats: first messages, follow-ups, "
                 "contacts, photos, edits"),
    "vk": ("gateway.connectors.messengers.simulate:main", "VK community messages, photos and edits"),
    "whatsapp": ("gateway.connectors.messengers.simulate:main", "WhatsApp Cloud API messages, photos and statuses"),
}
MESSENGERS = ("telegram", "vk", "whatsapp")  # their simulator takes the kind as its first argument


def simulate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gateway simulate", usage="gateway simulate KIND [options]",
        description="Send realistic, correctly signed provider traffic to a running gateway. Accounts and secrets "
                    "come from the settings file; without one, from the demo's (gateway demo), so every kind works "
                    "against the demo with no options.",
        epilog="Each kind has its own options: gateway simulate KIND --help.")
    kinds = p.add_subparsers(title="kinds", metavar="KIND")
    for kind, (_, help_) in SIMULATORS.items():
        kinds.add_parser(kind, help=help_, add_help=False)
    return p


def main(argv: list[str]) -> int:
    """`gateway simulate ...` (argv after `simulate`)."""
    argv = config_first(argv)  # `simulate --config FILE KIND` as `simulate KIND --config FILE`
    if not argv or argv[0] not in SIMULATORS:
        parser = simulate_parser()
        if argv[:1] in (["-h"], ["--help"]):
            parser.print_help()
            return 0
        parser.print_usage(sys.stderr)
        shown = f"unknown kind {argv[0]!r}" if argv else "which kind?"
        print(f"gateway simulate: {shown} (choose from {', '.join(SIMULATORS)})", file=sys.stderr)
        return 2
    from gateway.demo.settings import simulation_settings

    kind = argv[0]
    peek = argparse.ArgumentParser(add_help=False, parents=[config_option()])
    peek.add_argument("--url", default="http://127.0.0.1:8080")
    known, _ = peek.parse_known_args(argv[1:])
    settings = simulation_settings(getattr(known, "config", None), known.url)
    module, _, func = SIMULATORS[kind][0].partition(":")
    simulator: Callable[..., int] = getattr(import_module(module), func)
    return simulator(argv if kind in MESSENGERS else argv[1:], settings=settings)


