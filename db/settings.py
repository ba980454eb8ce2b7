"""What the admin screens list: dealerships, resource types, sharing agreements and users, read
through :class:`db.fast.FastReader` (the writes are the rules of :mod:`db.admin` and
:mod:`db.users`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from db.fast import as_object

if TYPE_CHECKING:
    from db.fast import FastReader


class DealershipRow(NamedTuple):
    id: int
    number: str
    name: str
    location: str | None
    type: str
    brand: str | None
    does_own_prep: bool
    active: bool
    parent_id: int | None
    prep_center_id: int | None
    brand_colors: dict[str, Any] | None = None
    logo: str | None = None
    sla_targets: dict[str, Any] | None = None


def dealerships(fast: FastReader) -> list[DealershipRow]:
    rows = fast.rows(
        "SELECT id, dealership_number, dealership_name, location, dealership_type, brand, "
        "does_own_prep, active, parent_dealership_id, prep_center_id, brand_colors, logo, "
        "sla_targets FROM dealership ORDER BY dealership_number"
    )
    return [
        DealershipRow(
            int(r[0]),
            *r[1:6],
            bool(r[6]),
            bool(r[7]),
            r[8],
            r[9],
            as_object(r[10]),
            r[11],
            as_object(r[12]),
        )
        for r in rows
    ]


class TypeRow(NamedTuple):
    id: int
    code: str
    name: str
    description: str | None
    active: bool
    is_productive: bool
    bookable: bool
    requires_assignment: bool
    default_duration_hours: float
    prep_stage: str | None
    icon: str | None = None
    color: str | None = None


def resource_types(fast: FastReader) -> list[Any]:
    rows = fast.rows(
        "SELECT id, code, name, description, active, is_productive, bookable, "
        "requires_assignment, default_duration_hours, prep_stage, icon, color FROM resource_types "
        "ORDER BY code"
    )
    return [
        TypeRow(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            bool(r[4]),
            bool(r[5]),
            bool(r[6]),
            bool(r[7]),
            float(r[8] or 0),
            r[9],
            r[10],
            r[11],
        )
        for r in rows
    ]


class AgreementRow(NamedTuple):
    id: int
    provider_id: int
    provider: str
    consumer_id: int
    consumer: str
    resource_type_id: int
    work: str
    enabled: bool
    max_hours_per_week: float
    priority: int
    notes: str | None


def agreements(fast: FastReader) -> list[Any]:
    rows = fast.rows(
        "SELECT s.id, s.provider_dealership_id, p.dealership_number || ' ' || p.dealership_name, "
        "s.consumer_dealership_id, c.dealership_number || ' ' || c.dealership_name, "
        "s.resource_type_id, t.name, s.enabled, s.max_hours_per_week, s.priority, s.notes "
        "FROM resource_sharing s JOIN dealership p ON p.id = s.provider_dealership_id "
        "JOIN dealership c ON c.id = s.consumer_dealership_id "
        "JOIN resource_types t ON t.id = s.resource_type_id ORDER BY 3, 5, 7"
    )
    return [
        AgreementRow(
            int(r[0]),
            int(r[1]),
            r[2],
            int(r[3]),
            r[4],
            int(r[5]),
            r[6],
            bool(r[7]),
            float(r[8] or 0),
            int(r[9] or 0),
            r[10],
        )
        for r in rows
    ]


class UserRow(NamedTuple):
    id: str
    login: str
    name: str
    role: str
    dealership_id: int | None
    dealership: str | None
    email: str | None
    active: bool
    has_pin: bool
    has_password: bool = False


def users(fast: FastReader) -> list[Any]:
    from db.fast import as_uid

    rows = fast.rows(
        "SELECT u.id, u.login, u.display_name, u.role, u.dealership_id, "
        "d.dealership_number || ' ' || d.dealership_name, u.email, u.active, "
        "u.pin_hash IS NOT NULL, u.password_hash IS NOT NULL "
        "FROM users u LEFT JOIN dealership d ON d.id = u.dealership_id "
        "ORDER BY u.login"
    )
    return [
        UserRow(
            str(as_uid(r[0])),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            bool(r[7]),
            bool(r[8]),
            bool(r[9]),
        )
        for r in rows
    ]


def has_password(fast: FastReader, user_id: Any) -> bool:
    """Has the user a password (to sign in from a web browser)?  Their own change asks for it."""
    found = fast.rows(
        "SELECT password_hash IS NOT NULL FROM users WHERE id = :id", {"id": fast.uid(user_id)}
    )
    return bool(found and found[0][0])
