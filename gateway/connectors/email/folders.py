"""Which folders are synchronised: the inbox, and the Sent folder (SPECIAL-USE `\\Sent`, else its usual names).

Folder names arrive decoded from IMAP's modified UTF-7 (imapclient does it), so
"&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" is compared as "Отправленные".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SENT_NAMES", "FolderEntry", "choose_folders"]

SENT_NAMES = (
    "Sent", "Sent Items", "Sent Messages", "Sent Mail", "[Gmail]/Sent Mail", "[Google Mail]/Sent Mail",
    "Отправленные", "Отправленные элементы", "Sent items",
)
_SENT_FLAG = b"\\Sent"
_NOSELECT = (b"\\Noselect", b"\\NonExistent")


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """One line of LIST: flags, hierarchy delimiter, decoded name."""

    flags: tuple[bytes, ...]
    delimiter: str | None
    name: str

    @classmethod
    def of(cls, item: tuple[Sequence[bytes], bytes | str | None, str | bytes]) -> FolderEntry:
        flags, delimiter, name = item
        delim = delimiter.decode("ascii", "replace") if isinstance(delimiter, bytes) else delimiter
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        return cls(tuple(f.lower() if isinstance(f, bytes) else str(f).encode().lower() for f in flags), delim, text)

    @property
    def selectable(self) -> bool:
        return not any(f in (n.lower() for n in _NOSELECT) for f in self.flags)

    @property
    def leaf(self) -> str:
        return self.name.rsplit(self.delimiter, 1)[-1] if self.delimiter else self.name


def _by_name(entries: list[FolderEntry]) -> str | None:
    """The best usual-name match: earlier names in SENT_NAMES first, shallower folders first."""
    ranked: list[tuple[int, int, str]] = []
    wanted = [n.lower() for n in SENT_NAMES]
    for e in entries:
        for candidate in (e.name.lower(), e.leaf.lower()):
            if candidate in wanted:
                depth = e.name.count(e.delimiter) if e.delimiter else 0
                ranked.append((wanted.index(candidate), depth, e.name))
                break
    return min(ranked)[2] if ranked else None


def choose_folders(listing: Sequence[FolderEntry], wanted: Sequence[str],
                   sent_override: str | None = None) -> list[tuple[str, str]]:
    """[(role, folder name)] for the wanted roles ("inbox", "sent"); a missing Sent folder is left out."""
    entries = [e for e in listing if e.selectable]
    chosen: list[tuple[str, str]] = []
    if "inbox" in wanted:
        inbox = next((e.name for e in entries if e.name.upper() == "INBOX"), "INBOX")
        chosen.append(("inbox", inbox))
    if "sent" in wanted:
        sent = sent_override
        if sent is None:
            flagged = [e.name for e in entries if _SENT_FLAG.lower() in e.flags]
            sent = flagged[0] if flagged else _by_name(entries)
        if sent is not None:
            chosen.append(("sent", sent))
    return chosen
