"""The `gateway` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

from gateway.config import Settings, load_settings
from gateway.core.errors import ConfigError, GatewayError
from gateway.options import config_first, config_option

__all__ = ["build_parser", "main"]

DESCRIPTION = "Lead Gateway: every inquiry (calls, mail, site forms, chats) becomes one lead in one CRM store."
EPILOG = ("Settings come from GATEWAY_* environment variables and the settings file (--config FILE, else "
          "$GATEWAY_CONFIG, else ./gateway.toml); the environment wins. Each command explains itself: "
          "gateway COMMAND --help.")

# Subcommands that belong to one connector or feature: name -> ("module:function" taking argv, help).
DELEGATED: dict[str, tuple[str, str]] = {
    "poll-mail": ("gateway.connectors.email.cli:poll_main", "poll the configured mailboxes on their own (when "
                  "`serve` runs with Redis)"),
    "mail": ("gateway.connectors.email.cli:mail_main", "import a mailbox's history as contacts' history"),
    "export": ("gateway.export.cli:main", "write the lead journal (or the deals) to a CSV or XLSX file"),
    "rescore": ("gateway.store.rescore:main", "recompute every lead's score after the point rules change"),
    "mango": ("gateway.connectors.telephony.mango.reconcile:main", "Mango Office: recover calls whose webhooks "
              "never came"),
    "telegram": ("gateway.connectors.messengers.telegram.cli:main", "register, show or delete a Telegram bot's "
                 "webhook"),
    "simulate": ("gateway.simulate:main", "send realistic provider traffic to a running gateway (gateway simulate "
                 "--help)"),
    "deliver": ("gateway.delivery.service:main", "perform outbound jobs (webhooks, sinks, PBX commands, mail "
                "replies) on their own, beside `serve`"),
}
def _settings(args: argparse.Namespace) -> Settings:
    from gateway.logs import configure_logging

    config = getattr(args, "config", None)
    if config:
        os.environ["GATEWAY_CONFIG"] = str(Path(config).resolve())  # the worker and rq jobs load the same file
    settings = load_settings(config)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.app import create_app
    from gateway.http.slow_clients import server_options
    from gateway.serving import run

    settings = _settings(args)
    dispatch = "the embedded worker" if settings.embedded else "rq workers"
    if settings.config_loaded_from is None:
        notice = (f"no config file at {settings.config.resolve()}: running on defaults (one pipeline, the manual "
                  "channel only). Copy gateway.example.toml to gateway.toml to configure; `gateway demo` shows every "
                  "channel at work.\n")
        config = "defaults"
    else:
        notice, config = "", str(settings.config_loaded_from)
    run(lambda _url: create_app(settings), args.host, args.port,
        lambda url: f"{notice}Lead Gateway on {url} ({config}; {dispatch})", server_options(settings.http))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.config.settings import HttpSettings
    from gateway.demo.command import Demo
    from gateway.http.slow_clients import server_options
    from gateway.serving import run

    if getattr(args, "config", None):
        raise ConfigError(f"config error: the demo runs its own configuration; to run {args.config}: "
                          f"gateway serve --config {args.config}")
    demo = Demo()
    run(demo.app, args.host, args.port, demo.announcement, server_options(HttpSettings()))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.dispatch.worker import run_worker

    settings = _settings(args)
    if not settings.redis_url:
        raise ConfigError("config error: redis_url: `gateway worker` needs GATEWAY_REDIS_URL (without Redis, "
                          "`gateway serve` processes events itself)")
    return run_worker(settings, burst=args.burst)


def cmd_migrate(args: argparse.Namespace) -> int:
    from gateway.store.bootstrap import bootstrap
    from gateway.store.db import make_engine

    settings = _settings(args)
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    bootstrap(engine, settings)
    print(f"schema is up to date ({engine.dialect.name})")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from gateway.dispatch.runtime import build_runtime
    from gateway.store import event_log
    from gateway.store.bootstrap import bootstrap

    statuses = [s for s, on in (("failed", args.failed), ("dead", args.dead)) if on]
    if not args.event_ids and not statuses:
        print("gateway replay: give EVENT_ID..., --failed or --dead", file=sys.stderr)
        return 2
    settings = _settings(args)
    runtime = build_runtime(settings)
    bootstrap(runtime.engine, settings)
    with runtime.engine.begin() as conn:
        n = event_log.requeue(conn, ids=args.event_ids, statuses=statuses, now=datetime.now(UTC))
    print(f"requeued {n} event(s)")
    if settings.embedded or args.now:
        owner = event_log.worker_id()
        done = 0
        while (report := runtime.processor.run_batch(owner)).claimed:
            done += report.done
        print(f"processed {done} event(s)")
    runtime.close()
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from gateway.store import users
    from gateway.store.bootstrap import bootstrap
    from gateway.store.db import make_engine

    settings = _settings(args)
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    bootstrap(engine, settings)
    with engine.begin() as conn:
        if args.user_cmd == "add":
            _, token = users.create_user(conn, args.name, args.role, extension=args.extension, email=args.email,
                                         department=args.department)
            print(f"user {args.name} ({args.role}) created; its API token, shown once:")
            print(token)
        elif args.user_cmd == "token":
            print(f"new token for {args.name} (the old one no longer works):")
            print(users.issue_token(conn, args.name))
        elif args.user_cmd == "disable":
            from datetime import UTC, datetime

            from gateway.store.deals import Cause
            from gateway.store.handover import DisableRequest, disable_user

            req = DisableRequest(handover_to=args.handover_to, with_leads=args.with_leads)
            done = disable_user(conn, args.name, req, Cause("command line"), now=datetime.now(UTC))
            handed = f"; handed to {args.handover_to}: open deals {len(done['deals'])}, open tasks {done['tasks']}"
            print(f"user {args.name} disabled" + (handed if args.handover_to else ""))
        elif args.user_cmd == "enable":
            users.set_disabled(conn, args.name, False)
            print(f"user {args.name} enabled")
        elif args.user_cmd == "password":
            from gateway.store.passwords import set_password

            set_password(conn, args.name, args.password or _ask_password())
            print(f"password set for {args.name}")
        else:
            for u in users.list_users(conn):
                state = "disabled" if u["disabled"] else "active"
                print(f"{u['id']:>4}  {u['name']:<20} {u['role']:<9} ext={u['extension'] or '-':<6} {state}")
    return 0


def _ask_password() -> str:
    import getpass

    return getpass.getpass("password: ")


def _delegate(target: str, argv: Sequence[str]) -> int:
    module, _, func = target.partition(":")
    fn: Callable[[list[str]], int] = getattr(import_module(module), func)
    return fn(list(argv))


def _listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; "
                        "0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=8080, help="the port to listen on (default 8080)")


def _user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    u = sub.add_parser("user", parents=[common], help="add, list, disable and enable users; issue tokens and "
                       "passwords", description="Users of the API and the web page.")
    u.set_defaults(fn=cmd_user)
    usub = u.add_subparsers(dest="user_cmd", required=True, metavar="ACTION")
    ua = usub.add_parser("add", parents=[common], help="create a user and print its API token once",
                         description="Create a user; its API token is printed once, alone on the last line.")
    ua.add_argument("name", help="the user's login name")
    ua.add_argument("--role", required=True, choices=["admin", "manager", "operator"],
                    help="admin: everything; manager: the journal, reports and exports; operator: triage")
    ua.add_argument("--extension", help="the user's PBX extension: calls they take show them as the manager")
    ua.add_argument("--email", help="the user's e-mail address")
    ua.add_argument("--department", help="shown in the journal and usable as its filter")
    usub.add_parser("list", parents=[common], help="list users", description="List users: name, role, extension, "
                    "whether active.")
    ud = usub.add_parser("disable", parents=[common], help="disable a user (its token stops working at once)",
                         description="Disable a user; with --handover-to, their open deals and tasks go to another.")
    ud.add_argument("name", help="the user's login name")
    ud.add_argument("--handover-to", help="hand the user's open deals and open tasks to this user")
    ud.add_argument("--with-leads", action="store_true", help="their deals' leads too (the journal then shows the "
                    "new manager as the one who took them)")
    for name, help_ in (("enable", "enable a user again"),
                        ("token", "issue a new API token (the old one stops working)")):
        usub.add_parser(name, parents=[common], help=help_, description=help_[0].upper() + help_[1:] + ".") \
            .add_argument("name", help="the user's login name")
    up = usub.add_parser("password", parents=[common], help="set the password for the web page",
                         description="Set the password the user logs in to the web page with.")
    up.add_argument("name", help="the user's login name")
    up.add_argument("--password", help="the new password (at least 8 characters; omit to be asked)")


def build_parser() -> argparse.ArgumentParser:
    common = config_option()
    p = argparse.ArgumentParser(prog="gateway", description=DESCRIPTION, epilog=EPILOG, parents=[common])
    sub = p.add_subparsers(dest="cmd", required=True, title="commands", metavar="COMMAND")

    def add(name: str, help_: str, fn: Callable[[argparse.Namespace], int], description: str = "",
            epilog: str | None = None) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=description or help_[0].upper() + help_[1:] + ".",
                            epilog=epilog, parents=[common])
        sp.set_defaults(fn=fn)
        return sp

    d = add("demo", "run a demo: an account for every channel and a local stand-in for the providers' APIs",
            cmd_demo, "Run the gateway on the demo configuration: sample accounts for Mango, a site form, Telegram, "
            "VK and WhatsApp, whose APIs a local stand-in plays (nothing reaches the internet), and a demo admin "
            "whose password is printed. Then `gateway simulate KIND` sends traffic. It does not read gateway.toml: "
            "`gateway serve` runs that.")
    _listen(d)
    s = add("serve", "run the HTTP server on your configuration (without Redis also the worker and the mail "
            "poller)", cmd_serve)
    _listen(s)
    w = add("worker", "process events handed out through Redis (needs GATEWAY_REDIS_URL)", cmd_worker)
    w.add_argument("--burst", action="store_true", help="drain what is pending, then exit")
    add("migrate", "create or upgrade the database schema", cmd_migrate)
    r = add("replay", "process stored events again (never creates a second lead)", cmd_replay,
            epilog="Without Redis the events are processed here and now; with Redis the workers take them.")
    r.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="events to process again")
    r.add_argument("--failed", action="store_true", help="every failed event (waiting for a retry)")
    r.add_argument("--dead", action="store_true", help="every dead event (out of attempts)")
    r.add_argument("--now", action="store_true", help="process here too, even with Redis configured")
    _user_parser(sub, common)
    for name, (_, help_) in DELEGATED.items():
        sub.add_parser(name, help=help_, add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = config_first(list(sys.argv[1:] if argv is None else argv))
    try:
        if argv and argv[0] in DELEGATED:
            return _delegate(DELEGATED[argv[0]][0], argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.fn(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
