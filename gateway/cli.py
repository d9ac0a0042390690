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

__all__ = ["main"]

# Subcommands that belong to one connector or feature: "name": "module:function" taking argv.
DELEGATED: dict[str, str] = {
    "poll-mail": "gateway.connectors.email.cli:poll_main",
    "mail": "gateway.connectors.email.cli:mail_main",
    "mango": "gateway.connectors.telephony.mango.reconcile:main",
    "telegram": "gateway.connectors.messengers.telegram.cli:main",
    "export": "gateway.export.cli:main",
    "rescore": "gateway.store.rescore:main",
    "deliver": "gateway.delivery.service:main",
}
SIMULATORS: dict[str, str] = {
    "mango": "gateway.connectors.telephony.mango.simulate:main",
    "forms": "gateway.connectors.webforms.simulate:main",
    "telegram": "gateway.connectors.messengers.simulate:main",
    "vk": "gateway.connectors.messengers.simulate:main",
    "whatsapp": "gateway.connectors.messengers.simulate:main",
}


def _settings(args: argparse.Namespace) -> Settings:
    from gateway.logs import configure_logging

    if getattr(args, "config", None):
        os.environ["GATEWAY_CONFIG"] = str(Path(args.config).resolve())  # rq jobs load the same file
    settings = load_settings(getattr(args, "config", None))
    configure_logging(settings.log_format, settings.log_level)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from gateway.app import create_app

    settings = _settings(args)
    if settings.config_loaded_from is None:
        print(f"no config file at {settings.config.resolve()}: running on defaults "
              "(one pipeline, the manual channel). Copy gateway.example.toml to gateway.toml to configure.",
              file=sys.stderr)
    import uvloop

    uvloop.install()
    print(f"Lead Gateway on http://{args.host}:{args.port}/ ({'embedded' if settings.embedded else 'rq'} dispatch)",
          file=sys.stderr)
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None, access_log=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.dispatch.worker import run_worker

    settings = _settings(args)
    if not settings.redis_url:
        raise ConfigError("config error: redis_url: `gateway worker` needs GATEWAY_REDIS_URL")
    return run_worker(settings, burst=args.burst)


def cmd_migrate(args: argparse.Namespace) -> int:
    from gateway.store.bootstrap import bootstrap
    from gateway.store.db import make_engine

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    bootstrap(engine, settings)
    print(f"schema is up to date ({engine.dialect.name})")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from gateway.dispatch.runtime import build_runtime
    from gateway.store import event_log
    from gateway.store.bootstrap import bootstrap

    settings = _settings(args)
    statuses = [s for s, on in (("failed", args.failed), ("dead", args.dead)) if on]
    if not args.event_ids and not statuses:
        print("give EVENT_ID..., --failed or --dead", file=sys.stderr)
        return 2
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
    engine = make_engine(settings.database_url)
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gateway", description="Lead Gateway: inbound leads into one CRM store")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name: str, help_: str, fn: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--config", help="TOML file (default: $GATEWAY_CONFIG or ./gateway.toml)")
        sp.set_defaults(fn=fn)
        return sp

    s = add("serve", "run the HTTP server (and, without Redis, the worker and the mail poller)", cmd_serve)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    w = add("worker", "process events from Redis/rq (needs GATEWAY_REDIS_URL)", cmd_worker)
    w.add_argument("--burst", action="store_true", help="drain what is pending, then exit")
    add("migrate", "create or upgrade the schema", cmd_migrate)
    r = add("replay", "process events again (never duplicates leads)", cmd_replay)
    r.add_argument("event_ids", nargs="*")
    r.add_argument("--failed", action="store_true")
    r.add_argument("--dead", action="store_true")
    r.add_argument("--now", action="store_true", help="process here too, even with Redis configured")
    u = add("user", "manage users", cmd_user)
    usub = u.add_subparsers(dest="user_cmd", required=True)
    ua = usub.add_parser("add", help="create a user and print its API token once")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["admin", "manager", "operator"])
    ua.add_argument("--extension")
    ua.add_argument("--email")
    ua.add_argument("--department")
    usub.add_parser("list", help="list users")
    ud = usub.add_parser("disable", help="disable a user (its token stops working at once)")
    ud.add_argument("name")
    ud.add_argument("--handover-to", help="hand the user's open deals and open tasks to this user")
    ud.add_argument("--with-leads", action="store_true", help="their leads too (the journal then shows the new one)")
    for name, help_ in (("enable", "enable a user again"), ("token", "issue a new API token")):
        usub.add_parser(name, help=help_).add_argument("name")
    up = usub.add_parser("password", help="set the web page password")
    up.add_argument("name")
    up.add_argument("--password", help="(omit to be asked)")
    for name in DELEGATED:
        sub.add_parser(name, help=f"see `gateway {name} --help`", add_help=False)
    sim = sub.add_parser("simulate", help="send realistic provider traffic to a running gateway", add_help=False)
    sim.add_argument("provider", nargs="?", choices=sorted(SIMULATORS))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in DELEGATED:
            return _delegate(DELEGATED[argv[0]], argv[1:])
        if argv and argv[0] == "simulate":
            if len(argv) < 2 or argv[1] not in SIMULATORS:
                print(f"usage: gateway simulate {{{','.join(sorted(SIMULATORS))}}} ...", file=sys.stderr)
                return 2
            return _delegate(SIMULATORS[argv[1]], argv[1:] if argv[1] in ("telegram", "vk", "whatsapp")
                             else argv[2:])
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
