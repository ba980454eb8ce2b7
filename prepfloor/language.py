"""The language of a ``prepfloor`` command: chosen before the command line is made, so that its
help and its output speak the site's language (``language`` in the config file), else the
environment's locale (``LANG=nb_NO.UTF-8``), else English.  A TUI session then speaks its
signed-in user's own language (:meth:`prepfloor.app.PrepfloorApp.start_session`)."""

from __future__ import annotations

import contextlib
import os

from db.i18n import choose, use


def choose_at_start() -> str:
    """Speak the site's language; a config file that cannot be read is said later by the command
    that reads it, and meanwhile the environment's language applies."""
    from prepfloor.config import ConfigError, load_settings

    site = None
    with contextlib.suppress(ConfigError, OSError, ValueError):
        site = load_settings(os.environ.get("PREPFLOOR_DATABASE_URL")).language
    return use(choose(site))
