"""Which modes (role screens) exist, who sees them, and their keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModeInfo:
    name: str
    title: str
    key: str
    roles: frozenset[str]


MODES: tuple[ModeInfo, ...] = (
    ModeInfo(
        "cars",
        "Cars",
        "f2",
        frozenset({"seller", "coordinator", "mechanic", "detailer", "manager", "admin"}),
    ),
    ModeInfo(
        "seller",
        "Seller",
        "f3",
        frozenset({"seller", "manager", "admin"}),
    ),
    ModeInfo(
        "coordinator",
        "Coordinator",
        "f4",
        frozenset({"coordinator", "admin"}),
    ),
    ModeInfo(
        "workshop",
        "Workshop",
        "f5",
        frozenset({"mechanic", "detailer", "coordinator", "admin"}),
    ),
    ModeInfo(
        "manager",
        "Manager",
        "f6",
        frozenset({"manager", "admin"}),
    ),
    ModeInfo(
        "admin",
        "Admin",
        "f7",
        frozenset({"admin"}),
    ),
)
BY_NAME = {m.name: m for m in MODES}


def modes_for(role: str) -> list[ModeInfo]:
    return [m for m in MODES if role in m.roles]
