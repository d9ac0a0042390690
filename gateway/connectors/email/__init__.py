"""Company mailboxes over IMAP: the poller at the edge (`service`, `poller`), mail parsing behind it (`connector`)."""
