"""The screen of each mode of a session, made when the mode is first shown: its module is
imported only then (a session loads only the screens it opens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from db.i18n import _
from screens.context import SessionContext
from screens.modes import ModeInfo


def mode_screen(ctx: SessionContext, mode: ModeInfo) -> Callable[[], Screen[Any]]:
    """What makes ``mode``'s screen for the session ``ctx``."""
    if mode.name == "cars":

        def cars() -> Screen[Any]:
            from screens.cars import CarListScreen

            return CarListScreen(ctx)

        return cars
    if mode.name == "seller":
        title = _("Seller · My cars") if ctx.actor.role == "seller" else _("Seller · Our cars")

        def seller() -> Screen[Any]:
            from screens.seller import MyCarsScreen

            return MyCarsScreen(ctx, title)

        return seller
    if mode.name == "coordinator":

        def coordinator() -> Screen[Any]:
            from screens.capacity import CapacityScreen

            return CapacityScreen(ctx)

        return coordinator
    if mode.name == "admin":

        def admin() -> Screen[Any]:
            from screens.admin import DealershipsScreen

            return DealershipsScreen(ctx)

        return admin
    if mode.name == "workshop":
        mine = ctx.actor.role in ("mechanic", "detailer")

        def workshop() -> Screen[Any]:
            from screens.workshop import MyJobsScreen, TimeBankScreen

            return MyJobsScreen(ctx) if mine else TimeBankScreen(ctx)

        return workshop

    def dashboard() -> Screen[Any]:
        from screens.dashboard import DashboardScreen

        return DashboardScreen(ctx)

    return dashboard
