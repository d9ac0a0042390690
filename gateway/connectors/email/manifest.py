"""The mail connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.email import MailboxSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="imap",
    name="Company mailboxes over IMAP",
    receives="mail polled from each mailbox's inbox and sent folder; a mail from an unknown sender is a lead",
    polls=True,
    settings=MailboxSettings,
    settings_key="email.mailboxes",
    keys=("{Message-ID}, else sha256:{content} (per mailbox)",),
    docs=("https://www.rfc-editor.org/rfc/rfc9051", "https://www.rfc-editor.org/rfc/rfc5322"),
)
