"""Command palette (ctrl+p): find a car by VIN, plate, order number or customer; go to a screen."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from db.i18n import _
from db.text import one_line
from db.vocab import CAR_STATUS_LABELS
from screens.plain import plain


def _session(provider: Provider) -> Any:
    return getattr(provider.app, "session_ctx", None)


class CarFinder(Provider):
    """Type a VIN (or its last digits), a plate, an order number or a customer's name."""

    async def search(self, query: str) -> Hits:
        ctx = _session(self)
        text = query.strip()
        if ctx is None or len(text) < 3:
            return
        rows = await asyncio.to_thread(ctx.store.fast.find_cars, ctx.actor, text, 8)
        for rank, row in enumerate(rows):
            car = " ".join(x for x in (row.brand, row.model) if x)
            label = _("{plate}  {car}  {customer}  order {order}  [{status}]").format(
                plate=row.license_plate or "—",
                car=car,
                customer=row.customer_name or "",
                order=row.order_number or "—",
                status=CAR_STATUS_LABELS[row.status],
            )
            # Text, not str: the palette reads a str prompt and any help line as markup, so
            # the second line (what the help would say) is part of the prompt.
            shown = plain(label)
            shown.append("\n")
            shown.append_text(
                plain(
                    _("VIN {vin} · {dealership}").format(
                        vin=row.vin or "—", dealership=row.dealership_name
                    ),
                    "dim",
                )
            )
            yield Hit(
                score=1.0 - rank / 100,
                match_display=shown,
                command=partial(self.app.open_car, row.id),  # type: ignore[attr-defined]
                text=one_line(label),
            )


def _change_my_password(app: Any) -> None:
    from screens.password import change_my_password

    change_my_password(app)


class GoTo(Provider):
    """Jump to any screen the user may see; open on this one from now on; change my password;
    sign out; help."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        app: Any = self.app
        commands = [
            (
                _("Go to: {screen}").format(screen=_(m.title)),
                partial(app.switch_mode, m.name),
                f"{m.key.upper()}",
            )
            for m in app.session_modes()
        ]
        if _session(self) is not None:
            here = next((m for m in app.session_modes() if m.name == app.current_mode), None)
            if here is not None:
                commands.append(
                    (
                        _("Open on this screen from now on"),
                        app.action_start_here,
                        _("Sign in to {screen} from now on (f1, s does it too)").format(
                            screen=_(here.title)
                        ),
                    )
                )
            commands.append(
                (
                    _("Change my password"),
                    partial(_change_my_password, app),
                    _("The password you sign in with from a web browser"),
                )
            )
            commands.append(
                (_("Sign out"), app.action_sign_out, _("F9: back to the sign-in screen"))
            )
        commands.append((_("Help: keys"), app.action_help, _("F1 or ?")))
        return commands

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
