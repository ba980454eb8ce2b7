"""``prepfloor outbox``: the sender of messages to customers, from cron or systemd."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from db.i18n import _
from prepfloor.cli_common import DbOption, _db, fail, open_store, say, settings_for

outbox_app = typer.Typer(help=_("Messages to customers: the sender."), no_args_is_help=True)


@outbox_app.command(
    "run",
    help=_(
        "Deliver the queued messages to customers (SMTP, SMS gateway of [outbox]); with --once "
        "one pass (cron), else until stopped (systemd)."
    ),
)
def outbox_run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help=_("One pass, then exit (for cron)."))
    ] = False,
    db: DbOption = None,
) -> None:
    """Deliver the queued messages to customers."""
    import logging
    import sys

    settings = settings_for(_db(ctx, db))
    if not settings.outbox.configured:
        fail(_("nothing to send with: configure [outbox] (an SMTP host, an SMS gateway)"))
    from prepfloor.config import apply_timezone

    apply_timezone(settings)
    store = open_store(settings)  # migrated if it is new, refused if the schema is another's
    store.close()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s prepfloor outbox: %(message)s", stream=sys.stderr
    )
    from db.engine import Database
    from prepfloor.outbox_send import Sender

    sender = Sender(Database(settings.database), settings.outbox)
    if once:
        sent = sender.run_once()
        say(_("{n} message(s) sent").format(n=sent))
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    sender.run_forever(stop)
