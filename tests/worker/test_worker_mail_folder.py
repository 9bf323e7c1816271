"""The mail folder (MAIL_DIR without SMTP_HOST; `make run`: DATA_DIR/mail) is owner-only, as the
README says: its messages carry people's addresses and one-time links. Found by a platform
engineer: the worker created it drwxr-xr-x."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage

from shared.notifications.email import FolderMailer


def test_the_worker_makes_a_missing_mail_folder_owner_only(tmp_path):
    previous = os.umask(0o022)  # the usual umask, which left it readable by everyone
    try:
        message = EmailMessage()
        message["To"] = "lead@example.com"
        message["Message-ID"] = "<invite-1@incident-tracker>"
        message.set_content("Choose a password: http://127.0.0.1:8000/reset/secret-link")
        written = FolderMailer(tmp_path / "data" / "mail").send(message)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "data" / "mail").stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
