"""Who may do what, and which records they see.  One matrix, one scoping rule, enforced in ``db``.

* The **permission matrix** maps an action to the roles that may do it (admins may do everything).
* The **scope** of a user is the set of dealerships whose data they see: their own dealership; for a
  manager also its branches (the ``parent_dealership_id`` hierarchy); for an admin every dealership.
  A car is in scope when it belongs to one of those dealerships, or when one of them works on it as a
  provider (its prep center, or the provider of one of its bookings: ``car_access``).

Light on purpose (no SQLAlchemy): the car list builds its scope filter from here before the ORM loads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from db.errors import NotAllowed
from db.i18n import N_, Labels, _
from db.vocab import ROLE_LABELS

ALL_ROLES = frozenset(ROLE_LABELS)

# action -> roles allowed.  "admin" is implied everywhere.
PERMISSIONS: Mapping[str, frozenset[str]] = {
    # cars
    "car.view": ALL_ROLES,
    "car.draft": frozenset({"seller", "manager"}),
    "car.register": frozenset({"seller", "manager"}),
    "car.edit_order": frozenset({"seller", "manager"}),  # identity, customer, notes, SLA date
    "car.edit_prep": frozenset({"coordinator", "mechanic", "detailer"}),  # prep notes
    "car.move": frozenset({"seller", "coordinator", "mechanic", "detailer", "manager"}),
    # bookings and capacity
    "booking.view": ALL_ROLES,
    "booking.create": frozenset({"coordinator"}),
    "booking.change": frozenset({"coordinator"}),  # move, reassign, cancel, no-show, confirm
    "booking.extra": frozenset({"coordinator", "mechanic", "detailer"}),  # from an inspection
    "capacity.set": frozenset({"coordinator"}),
    # clocking
    "timer.own": frozenset({"mechanic", "detailer", "coordinator"}),
    "timer.correct": frozenset({"coordinator", "manager"}),
    "job.take": frozenset({"mechanic", "detailer"}),  # an unassigned open job of their kind
    # car records of the improvements
    "parts.order": frozenset({"seller", "coordinator", "mechanic"}),
    "inspection.record": frozenset({"mechanic", "coordinator"}),
    "customer.contact": frozenset({"seller", "manager"}),
    # estimates of extra work: the prep center makes them, the seller (for a customer's car,
    # after asking the customer) approves or declines; everyone who sees the car reads them
    "estimate.view": ALL_ROLES,
    "estimate.edit": frozenset({"coordinator", "mechanic"}),  # make, edit, send
    "estimate.decide": frozenset({"seller"}),
    "document.attach": frozenset({"seller", "coordinator", "mechanic", "detailer", "manager"}),
    # messages to the customer (db/outbox.py): read; write, edit, release and cancel them
    "outbox.view": frozenset({"seller", "coordinator", "manager"}),
    "outbox.send": frozenset({"seller", "coordinator"}),
    # oversight and configuration
    "report.view": frozenset({"manager", "coordinator"}),
    "export": frozenset({"manager"}),
    "dealership.configure": frozenset(),
    "resource_type.configure": frozenset(),
    "sharing.configure": frozenset(),
    "user.manage": frozenset(),
    # which milestones send, templates: a seller or manager for their own dealership (the seller
    # chooses per dealership, the issue says), an admin for any (:func:`require_own_dealership`)
    "outbox.configure": frozenset({"seller", "manager"}),
}

# actions a non-admin may do only for their own dealership (not its branches, not another's)
OWN_DEALERSHIP_ONLY = frozenset({"outbox.configure"})

# What each action is, said after "can" in a refusal ("Only a coordinator or admin can book work").
ACTION_WORDS = Labels(
    {
        "car.draft": N_("start a car order"),
        "car.register": N_("register a car"),
        "car.edit_order": N_("change a car's order details"),
        "car.edit_prep": N_("change a car's prep notes"),
        "car.move": N_("change a car's status"),
        "booking.create": N_("book work"),
        "booking.change": N_("change bookings"),
        "booking.extra": N_("book extra work from an inspection"),
        "capacity.set": N_("set capacity"),
        "timer.own": N_("clock work"),
        "timer.correct": N_("correct clocked hours"),
        "job.take": N_("take open jobs"),
        "parts.order": N_("order parts"),
        "inspection.record": N_("record inspections"),
        "customer.contact": N_("log customer contacts"),
        "estimate.view": N_("see estimates"),
        "estimate.edit": N_("make and send estimates"),
        "estimate.decide": N_("approve or decline estimates"),
        "document.attach": N_("attach documents"),
        "outbox.view": N_("see the messages to a customer"),
        "outbox.send": N_("write and send messages to a customer"),
        "report.view": N_("see reports"),
        "export": N_("export data"),
        "dealership.configure": N_("configure dealerships"),
        "resource_type.configure": N_("configure resource types"),
        "sharing.configure": N_("configure sharing agreements"),
        "user.manage": N_("manage users"),
        "outbox.configure": N_("configure messages to customers"),
    }
)


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a rule runs, with the dealerships they see."""

    user_id: uuid.UUID
    login: str
    display_name: str
    role: str
    dealership_id: int | None
    dealership_ids: frozenset[int] = field(default_factory=frozenset)
    all_dealerships: bool = False

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def may(self, action: str) -> bool:
        return self.role == "admin" or self.role in PERMISSIONS.get(action, frozenset())

    def require(self, action: str) -> None:
        """Raise :class:`NotAllowed` unless the role may do ``action``."""
        if not self.may(action):
            raise NotAllowed(refusal(self.role, action))

    def require_for_dealership(self, action: str, dealership_id: int | None) -> None:
        """:meth:`require`, and for an action of ``OWN_DEALERSHIP_ONLY`` a non-admin's own
        dealership only: refused with the words of :func:`not_own_dealership` otherwise."""
        self.require(action)
        if self.role == "admin" or action not in OWN_DEALERSHIP_ONLY:
            return
        if dealership_id is None or dealership_id != self.dealership_id:
            raise NotAllowed(not_own_dealership(action))

    def sees_dealership(self, dealership_id: int | None) -> bool:
        return self.all_dealerships or dealership_id in self.dealership_ids

    def sees_car(
        self,
        dealership_id: int | None,
        prep_center_id: int | None,
        provider_ids: Iterable[int] = (),
    ) -> bool:
        """The car scoping rule (the SQL twin is :func:`car_scope_sql`)."""
        if self.all_dealerships:
            return True
        if dealership_id in self.dealership_ids or prep_center_id in self.dealership_ids:
            return True
        return any(p in self.dealership_ids for p in provider_ids)


def roles_allowed(action: str) -> list[str]:
    """In the order of ``ROLES`` (admin last)."""
    allowed = {"admin", *PERMISSIONS.get(action, frozenset())}
    return [role for role in ROLE_LABELS if role in allowed]


def refusal(role: str, action: str) -> str:
    """'Only a coordinator or admin can book work.'"""
    names = [ROLE_LABELS[r].lower() for r in roles_allowed(action)]
    if len(names) == 1:
        who = names[0]
    else:
        # TRANSLATORS: a list of roles: "seller, manager or admin".
        who = _("{names} or {last}").format(names=", ".join(names[:-1]), last=names[-1])
    words = ACTION_WORDS.get(action, action)
    # TRANSLATORS: {roles} is a list of roles ("coordinator or admin"), {action} what they may do
    # ("book work"), {role} the reader's own role. The English article follows the roles.
    if _article(who) == "an":
        message = _("Only an {roles} can {action}; you are signed in as {role}.")
    else:
        message = _("Only a {roles} can {action}; you are signed in as {role}.")
    return message.format(roles=who, action=words, role=ROLE_LABELS[role].lower())


def not_own_dealership(action: str) -> str:
    """'You can configure messages to customers for your own dealership only; ...'"""
    # TRANSLATORS: {action} is what the reader tried ("configure messages to customers").
    return _(
        "You can {action} for your own dealership only; an admin can for any dealership."
    ).format(action=ACTION_WORDS.get(action, action))


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def descendants(parents: Mapping[int, int | None], root: int) -> set[int]:
    """``root`` and every dealership below it in the hierarchy (safe against cycles)."""
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    seen = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def scope_for(
    role: str, dealership_id: int | None, parents: Mapping[int, int | None]
) -> tuple[frozenset[int], bool]:
    """The dealerships a user of ``role`` at ``dealership_id`` sees, and whether that is all."""
    if role == "admin":
        return frozenset(parents), True
    if dealership_id is None:
        return frozenset(), False
    if role == "manager":
        return frozenset(descendants(parents, dealership_id)), False
    return frozenset({dealership_id}), False


def actor_from(
    user_id: uuid.UUID | str,
    login: str,
    display_name: str,
    role: str,
    dealership_id: int | None,
    parents: Mapping[int, int | None],
) -> Actor:
    """The actor for a user row, with the scope the hierarchy ``parents`` gives them."""
    ids, everything = scope_for(role, dealership_id, parents)
    return Actor(
        user_id=user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id)),
        login=login,
        display_name=display_name,
        role=role,
        dealership_id=dealership_id,
        dealership_ids=ids,
        all_dealerships=everything,
    )


def may_sell_for(
    seller_role: str,
    seller_dealership_id: int | None,
    car_dealership_id: int | None,
    parents: Mapping[int, int | None],
) -> bool:
    """May a user of ``seller_role`` at ``seller_dealership_id`` be the seller of a car of
    ``car_dealership_id``?  A seller of that dealership, or a manager who sees it (their own
    dealership or one of its branches: the scoping rule of :func:`scope_for`)."""
    if seller_dealership_id is None or car_dealership_id is None:
        return False
    if seller_role == "seller":
        return seller_dealership_id == car_dealership_id
    if seller_role == "manager":
        return car_dealership_id in descendants(parents, seller_dealership_id)
    return False


def actor_change(
    actor: Actor,
    found: tuple[bool, str, int | None] | None,
    dealership_name: Callable[[int | None], str | None],
    *,
    writing: bool = True,
) -> str | None:
    """Why ``actor`` may no longer write, given their user row now (``(active, role,
    dealership_id)``, or ``None``: the user is gone), or ``None`` when nothing changed.
    ``dealership_name`` words a dealership (called only when it changed); ``writing``: said to a
    write that was refused ("nothing was saved"), else to a session that noticed on its own."""
    if found is None or not found[0]:
        if writing:
            return _(
                "Your account was switched off while you were signed in; nothing was saved. "
                "Ask an admin."
            )
        return _("Your account was switched off while you were signed in. Ask an admin.")
    _active, role, dealership_id = found
    role_changed = role != actor.role
    dealership_changed = dealership_id != actor.dealership_id
    if not role_changed and not dealership_changed:
        return None

    def place(d: int | None) -> str:
        named = dealership_name(d)
        if named:
            return named
        return _("no dealership") if d is None else _("dealership #{id}").format(id=d)

    old_role, new_role = (ROLE_LABELS.get(r, r).lower() for r in (actor.role, role))
    old_place = new_place = ""
    if dealership_changed:
        old_place, new_place = place(actor.dealership_id), place(dealership_id)
    if role_changed and dealership_changed:
        what = _(
            "Your role changed from {old_role} to {new_role} and your dealership changed from "
            "{old_dealership} to {new_dealership} while you were signed in"
        )
    elif role_changed:
        what = _("Your role changed from {old_role} to {new_role} while you were signed in")
    else:
        what = _(
            "Your dealership changed from {old_dealership} to {new_dealership} while you were "
            "signed in"
        )
    what = what.format(
        old_role=old_role,
        new_role=new_role,
        old_dealership=old_place,
        new_dealership=new_place,
    )
    # TRANSLATORS: {what} is what changed ("Your role changed from seller to manager while you
    # were signed in").
    if writing:
        return _("{what}; nothing was saved. Sign in again.").format(what=what)
    return _("{what}. Sign in again.").format(what=what)


def car_scope_sql(
    actor: Actor, alias: str = "cars", *, dialect: str = "sqlite", newest_first: bool = False
) -> str:
    """A SQL condition on ``alias`` that keeps the cars ``actor`` sees (twin of ``sees_car``).

    Three indexed lookups (owner, prep center, ``car_access``) that the databases combine without
    reading every car: right for counting and for every id of a list.  ``newest_first`` is for
    the first page of a list: the terms are then kept off the indexes (``+column``), so the
    database walks the cars from the newest and stops after one page instead of sorting every
    match first.  On PostgreSQL the ``car_access`` ids are handed over as an array
    (``= ANY(ARRAY(...))``), which the planner can combine with the two indexes; an ``IN
    (subquery)`` there makes it read every car.  The ids are integers from the database, formatted
    in, so the condition can be reused in any statement without carrying parameters.
    """
    if actor.all_dealerships:
        return "1=1"
    if not actor.dealership_ids:
        return "1=0"
    ids = ", ".join(str(int(i)) for i in sorted(actor.dealership_ids))
    plus = "+" if newest_first else ""
    others = f"SELECT car_id FROM car_access WHERE dealership_id IN ({ids})"
    if dialect == "postgresql":
        elsewhere = f"{alias}.id = ANY(ARRAY({others}))"
    else:
        elsewhere = f"{plus}{alias}.id IN ({others})"
    return (
        f"({plus}{alias}.dealership_id IN ({ids}) OR {plus}{alias}.prep_center_id IN ({ids}) "
        f"OR {elsewhere})"
    )
