"""Which modes (role screens) exist, who sees them, and their keys.

The modes and the roles that have them are :mod:`db.modes`'s (the rule on a chosen start screen
reads the same table); this module adds their keys.
"""

from __future__ import annotations

from typing import NamedTuple

from db.access import Actor
from db.i18n import _
from db.modes import MODES as MODE_TABLE


class ModeInfo(NamedTuple):
    name: str
    title: str
    key: str
    roles: frozenset[str]

    @property
    def action(self) -> str:
        """The app's action that opens this mode."""
        return f"mode('{self.name}')"


KEYS: dict[str, str] = {
    "cars": "f2",
    "seller": "f3",
    "coordinator": "f4",
    "workshop": "f5",
    "manager": "f6",
    "admin": "f7",
}
MODES: tuple[ModeInfo, ...] = tuple(
    ModeInfo(name, title, KEYS[name], roles) for name, (title, roles) in MODE_TABLE.items()
)
BY_NAME = {m.name: m for m in MODES}


def modes_for(role: str) -> list[ModeInfo]:
    return [m for m in MODES if role in m.roles]


def empty_car_list(actor: Actor) -> str:
    """What an empty car list (no search typed) says: what to do first, for this user."""
    if actor.role == "admin" and not actor.dealership_ids:
        return _("No cars yet. f7 Admin: set up dealerships, resource types and users first.")
    if actor.may("car.draft"):
        return _("No cars yet. ctrl+n registers the first.")
    return _("No cars yet: a car shows here once a seller registers it.")
