"""A throw-away Dovecot IMAP server for tests and benchmarks (after /work/shared recipes/dovecot.sh)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Account", "DovecotServer", "ensure_dovecot"]


def ensure_dovecot() -> None:
    """Install dovecot-imapd from Debian when it is missing."""
    if shutil.which("dovecot"):
        return
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-imapd"], check=True, capture_output=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Account:
    host: str
    port: int
    username: str
    password: str


_CONF = """protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/run
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_max_userip_connections = 100
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
{sent}
}}
"""

_SENT = """  mailbox Sent {
    special_use = \\Sent
    auto = create
  }"""


class DovecotServer:
    """Dovecot on a free loopback port, with passwd-file users added on the fly."""

    def __init__(self, root: Path, *, special_use: bool = True, users: int = 200) -> None:
        self.root = Path(root)
        self._pool: list[Account] = []
        self._users = users
        self.special_use = special_use
        self.port = 0
        self.conf = self.root / "dovecot.conf"
        self.passwd = self.root / "passwd"
        pw = pwd.getpwnam("dovecot")
        self._uid, self._gid = pw.pw_uid, pw.pw_gid

    def start(self) -> DovecotServer:
        ensure_dovecot()
        (self.root / "mail").mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # noqa: S103 - Dovecot's own users must enter it
        os.chmod(self.root / "run", 0o755)  # noqa: S103
        os.chown(self.root / "mail", self._uid, self._gid)
        self.port = _free_port()
        lines = []
        for _ in range(self._users):  # passwd-file is re-read at most once a second: create the users up front
            name, password = f"u{secrets.token_hex(5)}", secrets.token_hex(8)
            lines.append(f"{name}:{{PLAIN}}{password}:{self._uid}:{self._gid}::{self.root / 'mail' / name}\n")
            self._pool.append(Account("127.0.0.1", self.port, name, password))
        self.passwd.write_text("".join(lines))
        self.conf.write_text(_CONF.format(dir=self.root, uid=self._uid, gid=self._gid, port=self.port,
                                          sent=_SENT if self.special_use else ""))
        subprocess.run(["dovecot", "-c", str(self.conf)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot did not start: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the master we started; it takes its children along."""
        try:
            pid = self.master_pid()
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.02)

    def log_tail(self, lines: int = 5) -> str:
        log = self.root / "dovecot.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def add_user(self) -> Account:
        """A user with an empty Maildir, from the pool made at start."""
        if not self._pool:
            raise RuntimeError("no more test users: start the server with more")
        return self._pool.pop()

    def maildir(self, account: Account) -> Path:
        return self.root / "mail" / account.username / "Maildir"

    def doveadm(self, *args: str) -> str:
        out = subprocess.run(["doveadm", "-c", str(self.conf), *args], check=True, capture_output=True, text=True)
        return out.stdout

    def master_pid(self) -> int:
        return int((self.root / "run" / "master.pid").read_text().strip())

    def imap_pids(self) -> list[int]:
        """The `imap` worker processes of this server (children of its master)."""
        master = self.master_pid()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1: stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == master and comm == "imap":
                pids.append(int(entry.name))
        return pids

    def kill_imap_processes(self) -> int:
        killed = 0
        for pid in self.imap_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed
