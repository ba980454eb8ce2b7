"""The modes (role screens) each role has, and which one a user opens on when they sign in.

One table for the app's modes (:mod:`screens.modes` adds their keys) and for the rule on a
chosen start screen (:func:`db.users.set_start_mode`).  Light on purpose (no SQLAlchemy): the
app reads it before its first frame.
"""

from __future__ import annotations

from db.i18n import N_, _
from db.vocab import ROLE_LABELS

# mode name -> (title, the roles that have it); in the order of their keys, f2 to f7
MODES: dict[str, tuple[str, frozenset[str]]] = {
    "cars": (
        N_("Cars"),
        frozenset({"seller", "coordinator", "mechanic", "detailer", "manager", "admin"}),
    ),
    "seller": (N_("Seller"), frozenset({"seller", "manager", "admin"})),
    "coordinator": (N_("Coordinator"), frozenset({"coordinator", "admin"})),
    "workshop": (N_("Workshop"), frozenset({"mechanic", "detailer", "coordinator", "admin"})),
    "manager": (N_("Manager"), frozenset({"manager", "admin"})),
    "admin": (N_("Admin"), frozenset({"admin"})),
}

# Each role opens on its work: a seller on their cars, a coordinator on the capacity grid, a
# mechanic or detailer on their jobs, a manager on the dashboard, an admin on every car.
DEFAULT_START: dict[str, str] = {
    "seller": "seller",
    "coordinator": "coordinator",
    "mechanic": "workshop",
    "detailer": "workshop",
    "manager": "manager",
    "admin": "cars",
}


def mode_title(name: str) -> str:
    return _(MODES[name][0]) if name in MODES else name


def modes_of(role: str) -> list[str]:
    """The modes a user of ``role`` sees, in the order of their keys."""
    return [name for name, (_title, roles) in MODES.items() if role in roles]


def default_start(role: str) -> str:
    return DEFAULT_START.get(role, "cars")


def start_mode(role: str, chosen: str | None, has_dealerships: bool = True) -> str:
    """The mode a user of ``role`` opens on: an admin of a database with no dealership yet on
    Admin (nothing else works before that); else the start screen they chose, while it is one
    of their modes (a role changed since keeps the new role's own); else their role's."""
    if role == "admin" and not has_dealerships:
        return "admin"
    if chosen in modes_of(role):
        return str(chosen)
    return default_start(role)


def start_refusal(role: str, display_name: str, mode: str) -> str | None:
    """Why ``mode`` cannot be the start screen of ``display_name`` (a ``role``), or ``None``."""
    theirs = modes_of(role)
    names = ", ".join(theirs)
    if mode not in MODES:
        return f"There is no screen {mode!r}. {display_name} can open on: {names}."
    if mode not in theirs:
        role_label = ROLE_LABELS.get(role, role).lower()
        article = "an" if role_label[:1] in "aeiou" else "a"
        return (
            f"{mode_title(mode)} is not one of {display_name}'s screens ({article} {role_label} "
            f"has: {names})."
        )
    return None
