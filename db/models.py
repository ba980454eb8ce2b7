"""The tables.  Names are the seed's collections and fields, exactly (``../shared/seed``).

Beyond the seed's seven collections: ``users`` (for Directus's ``directus_users``, UUID keys), the
improvements' tables (``parts_orders``, ``timebank_entries``, ``inspection_checklist_items``,
``customer_communications``, ``car_documents``) and ``events`` (audit trail and change feed).
A few columns that the workflow needs and the seed does not name are marked "prepfloor:".
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    Float,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from db import formats
from db.errors import InvalidFields
from db.i18n import N_, Labels, _
from db.limits import NOTE_LIMIT
from db.text import clean
from db.totals_closed import CARS_HANDED, CARS_WAITING
from db.types import SafeString, UTCDateTime, protect_text_columns
from db.vocab import (
    BOOKING_STATUSES,
    CAR_INACTIVE_STATUSES,
    CAR_STATUSES,
    CAR_TYPES,
    CHECKLIST_STATUSES,
    COMMUNICATION_TYPES,
    DEALERSHIP_TYPES,
    DOCUMENT_TYPES,
    ESTIMATE_DECIDED_STATES,
    ESTIMATE_DECISIONS,
    ESTIMATE_LINE_KINDS,
    ESTIMATE_STATES,
    NOTIFICATION_MODES,
    OUTBOX_CHANNELS,
    OUTBOX_LANGUAGES,
    OUTBOX_MILESTONES,
    OUTBOX_STATES,
    PARTS_ORDERED_BY,
    PARTS_STATUSES,
    PREP_STAGES,
    PRIORITIES,
    ROLES,
    sql_in,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _ts(**kw: Any) -> Any:
    """An aware UTC timestamp column (nullable unless told)."""
    return Field(default=None, sa_type=UTCDateTime, **kw)


# ------------------------------------------------------------------------------------------------
# Collection 2: dealership
# ------------------------------------------------------------------------------------------------
class Dealership(SQLModel, table=True):
    __tablename__ = "dealership"
    __table_args__ = (
        CheckConstraint(f"dealership_type IN {sql_in(DEALERSHIP_TYPES)}", name="dealership_type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dealership_number: str = Field(max_length=20, unique=True)
    dealership_name: str = Field(max_length=120)
    location: str | None = Field(default=None, max_length=120)
    dealership_type: str = Field(default="sales_and_prep", max_length=20)
    brand: str | None = Field(default=None, max_length=60)
    does_own_prep: bool = Field(default=False)
    active: bool = Field(default=True)
    parent_dealership_id: int | None = Field(default=None, foreign_key="dealership.id", index=True)
    prep_center_id: int | None = Field(default=None, foreign_key="dealership.id", index=True)
    brand_colors: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    logo: str | None = Field(default=None, max_length=500)
    # improvement 6: days a car may spend in a status here, e.g. {"inspection": 1}; a dealership
    # without its own follows its parent, then prepfloor's defaults (db/sla.py)
    sla_targets: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# users (stands in for directus_users)
# ------------------------------------------------------------------------------------------------
class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {sql_in(ROLES)}", name="role"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: str = Field(max_length=20)
    dealership_id: int | None = Field(default=None, foreign_key="dealership.id", index=True)
    active: bool = Field(default=True)
    pin_hash: str | None = Field(default=None, max_length=200)
    # prepfloor: the password a browser signs in with (scrypt, as pin_hash); NULL: none
    password_hash: str | None = Field(default=None, max_length=200)
    badge_hash: str | None = Field(default=None, max_length=200, unique=True)
    failed_pin_attempts: int = Field(default=0)
    locked_until: datetime | None = _ts()
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    # prepfloor: a shared workshop account; its SSH sessions open the sign-in screen
    is_terminal: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # prepfloor: the mode the user opens on (db/modes.py); NULL: their role's
    start_mode: str | None = Field(default=None, max_length=20)
    # prepfloor: the language the user reads prepfloor in (db/i18n.py: en, nb); NULL: the site's
    language: str | None = Field(default=None, max_length=8)


class UserKey(SQLModel, table=True):
    """prepfloor: an SSH public key a user signs in with over ``prepfloor serve``."""

    __tablename__ = "user_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    key_type: str = Field(max_length=60)  # ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...
    public_key: str = Field(sa_type=Text)  # the base64 blob, as in a .pub file
    fingerprint: str = Field(max_length=100, unique=True)  # SHA256:..., as ssh-keygen -l shows
    comment: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 1: cars
# ------------------------------------------------------------------------------------------------
# the columns of the dashboard's indexes on cars (``ix_cars_open``, ``ix_cars_closed``)
CARS_OPEN_COLUMNS = (
    "status",
    "dealership_id",
    "prep_center_id",
    "expected_delivery_date",
    "status_changed_at",
    "registered_at",
    "in_transit_at",
    "arrived_prep_center_at",
    "parts_ordered_prep_at",
    "inspection_completed_at",
    "technical_completed_at",
    "ready_for_delivery_at",
)
CARS_CLOSED_COLUMNS = (
    "status_changed_at",
    "status",
    "dealership_id",
    "prep_center_id",
    "expected_delivery_date",
    "delivered_to_customer_at",
)
# the cars delivered against a promised date, handed over (on time or late: the reader's zone
# decides) or not yet (``ix_cars_handed``, ``ix_cars_waiting``; migration 0016;
# the conditions: db.totals_closed)
CARS_HANDED_COLUMNS = (
    "status_changed_at",
    "expected_delivery_date",
    "delivered_to_customer_at",
    "dealership_id",
    "prep_center_id",
    "status",  # SQLite reads the index alone only if it holds every column the query names
)
CARS_WAITING_COLUMNS = (
    "status_changed_at",
    "expected_delivery_date",
    "dealership_id",
    "prep_center_id",
    "status",
    "delivered_to_customer_at",
)


class Car(SQLModel, table=True):
    __tablename__ = "cars"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(CAR_STATUSES)}", name="status"),
        CheckConstraint(f"car_type IS NULL OR car_type IN {sql_in(CAR_TYPES)}", name="car_type"),
        # One car per VIN while it is being worked on; delivered and archived cars keep theirs.
        Index(
            "uq_cars_vin_active",
            "vin",
            unique=True,
            sqlite_where=text(f"vin IS NOT NULL AND status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}"),
            postgresql_where=text(
                f"vin IS NOT NULL AND status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}"
            ),
        ),
        Index("ix_cars_dealership_id_status", "dealership_id", "status"),
        Index("ix_cars_prep_center_id_status", "prep_center_id", "status"),
        # the manager's dashboard reads the cars being worked on, and those delivered or archived
        # in its period, from these alone (migration 0012)
        Index(
            "ix_cars_open",
            *CARS_OPEN_COLUMNS,
            sqlite_where=text(f"status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}"),
            postgresql_where=text(f"status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}"),
            postgresql_include=["id"],
        ),
        Index(
            "ix_cars_closed",
            *CARS_CLOSED_COLUMNS,
            sqlite_where=text(f"status IN {sql_in(CAR_INACTIVE_STATUSES)}"),
            postgresql_where=text(f"status IN {sql_in(CAR_INACTIVE_STATUSES)}"),
            postgresql_include=["id"],
        ),
        Index(
            "ix_cars_handed",
            *CARS_HANDED_COLUMNS,
            sqlite_where=text(CARS_HANDED),
            postgresql_where=text(CARS_HANDED),
        ),
        Index(
            "ix_cars_waiting",
            *CARS_WAITING_COLUMNS,
            sqlite_where=text(CARS_WAITING),
            postgresql_where=text(CARS_WAITING),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # vehicle identity
    vin: str | None = Field(default=None, max_length=17)
    license_plate: str | None = Field(default=None, max_length=20, index=True)
    brand: str | None = Field(default=None, max_length=60)
    model: str | None = Field(default=None, max_length=80)
    model_year: int | None = None
    color: str | None = Field(default=None, max_length=40)
    order_number: str | None = Field(default=None, max_length=40, index=True)
    # customer
    customer_name: str | None = Field(default=None, max_length=120, index=True)
    customer_phone: str | None = Field(default=None, max_length=40)
    customer_email: str | None = Field(default=None, max_length=254)
    # ownership
    dealership_id: int = Field(foreign_key="dealership.id")
    seller_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    car_type: str | None = Field(default="new", max_length=20)
    status: str = Field(default="draft", max_length=30, index=True)
    accessories: list[str] | None = Field(default=None, sa_type=JSON)
    seller_notes: str | None = None
    # scheduling
    prep_center_id: int | None = Field(default=None, foreign_key="dealership.id")
    scheduled_technical_date: date | None = None
    scheduled_technical_time: time | None = None
    scheduled_cosmetic_date: date | None = None
    scheduled_cosmetic_time: time | None = None
    estimated_technical_hours: float | None = None
    estimated_cosmetic_hours: float | None = None
    assigned_mechanic_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    assigned_detailer_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    # parts
    parts_ordered_seller_at: datetime | None = _ts()
    parts_arrived_seller_at: datetime | None = _ts()
    parts_ordered_prep_at: datetime | None = _ts()
    parts_arrived_prep_at: datetime | None = _ts()
    parts_notes: str | None = None
    # inspection
    arrived_prep_center_at: datetime | None = _ts()
    inspection_completed_at: datetime | None = _ts()
    inspection_approved: bool | None = None
    inspection_notes: str | None = None
    # work
    technical_started_at: datetime | None = _ts()
    technical_completed_at: datetime | None = _ts()
    cosmetic_started_at: datetime | None = _ts()
    cosmetic_completed_at: datetime | None = _ts()
    technical_notes: str | None = None
    cosmetic_notes: str | None = None
    # delivery
    registered_at: datetime | None = _ts()
    ready_for_delivery_at: datetime | None = _ts()
    delivered_to_dealership_at: datetime | None = _ts()
    sold_at: datetime | None = _ts()
    delivered_to_customer_at: datetime | None = _ts()
    archived_at: datetime | None = _ts()
    # improvement 6: SLA target
    expected_delivery_date: date | None = None
    # prepfloor: the workflow's own bookkeeping
    in_transit_at: datetime | None = _ts()
    status_changed_at: datetime | None = _ts(index=True)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 3: notifications
# ------------------------------------------------------------------------------------------------
class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"priority IN {sql_in(PRIORITIES)}", name="priority"),
        Index("ix_notifications_user_id_read_created_at", "user_id", "read", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    car_id: int | None = Field(default=None, foreign_key="cars.id", index=True)
    type: str = Field(max_length=30)
    message: str
    read: bool = Field(default=False)
    priority: str = Field(default="medium", max_length=10)
    created_at: datetime | None = _ts()
    # prepfloor: a low-priority note its user takes as a daily digest (not counted, not toasted)
    digest: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # prepfloor: the message as its text and values (JSON, db/said.py), so that each reader sees it
    # in their own language; ``message`` holds it in English for other tools
    message_source: str | None = Field(default=None)


# ------------------------------------------------------------------------------------------------
# prepfloor: a user's choice per notification type (mute it, or low-priority ones as a digest)
# ------------------------------------------------------------------------------------------------
class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint(f"mode IN {sql_in(NOTIFICATION_MODES)}", name="mode"),
        UniqueConstraint("user_id", "type"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    type: str = Field(max_length=30)
    mode: str = Field(max_length=10)
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 4: resource_types
# ------------------------------------------------------------------------------------------------
class ResourceType(SQLModel, table=True):
    __tablename__ = "resource_types"
    __table_args__ = (
        CheckConstraint(
            f"prep_stage IS NULL OR prep_stage IN {sql_in(PREP_STAGES)}", name="prep_stage"
        ),
        CheckConstraint("default_duration_hours >= 0", name="default_duration_hours"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=80)
    description: str | None = None
    icon: str | None = Field(default=None, max_length=40)
    color: str | None = Field(default=None, max_length=20)
    active: bool = Field(default=True)
    is_productive: bool = Field(default=True)
    bookable: bool = Field(default=True)
    requires_assignment: bool = Field(default=False)
    default_duration_hours: float = Field(default=1.0)
    # prepfloor: which of the car's schedule fields this work drives (technical / cosmetic / none)
    prep_stage: str | None = Field(default=None, max_length=20)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 5: resource_bookings
# ------------------------------------------------------------------------------------------------
class ResourceBooking(SQLModel, table=True):
    __tablename__ = "resource_bookings"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(BOOKING_STATUSES)}", name="status"),
        CheckConstraint("estimated_hours > 0", name="estimated_hours"),
        CheckConstraint("actual_hours IS NULL OR actual_hours >= 0", name="actual_hours"),
        Index("ix_resource_bookings_provider_date", "provider_dealership_id", "date"),
        Index("ix_resource_bookings_consumer_date", "consumer_dealership_id", "date"),
        Index("ix_resource_bookings_user_id_date", "user_id", "date"),
        # The weekly sharing cap: a consumer's hours at a provider for one kind of work.
        # (with status and hours: the week's use is read from the index alone)
        Index(
            "ix_resource_bookings_sharing",
            "provider_dealership_id",
            "consumer_dealership_id",
            "resource_type_id",
            "date",
            "status",
            "estimated_hours",
        ),
        # The dashboard's estimate accuracy: completed bookings by day, from the index alone.
        Index(
            "ix_resource_bookings_completed",
            "date",
            "provider_dealership_id",
            "resource_type_id",
            "estimated_hours",
            "actual_hours",
            sqlite_where=text("status = 'completed'"),
            postgresql_where=text("status = 'completed'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    car_id: int | None = Field(default=None, foreign_key="cars.id", index=True)
    resource_type_id: int = Field(foreign_key="resource_types.id", index=True)
    date: date
    start_time: time | None = None
    estimated_hours: float
    provider_dealership_id: int = Field(foreign_key="dealership.id")
    consumer_dealership_id: int = Field(foreign_key="dealership.id")
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: str = Field(default="scheduled", max_length=20)
    actual_hours: float | None = None
    completed_at: datetime | None = _ts()
    notes: str | None = None
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 6: resource_capacities
# ------------------------------------------------------------------------------------------------
# ``ix_resource_capacities_person_day`` (migration 0017)
PERSON_DAY_COLUMNS = (
    "user_id",
    "date",
    "dealership_id",
    "resource_type_id",
    "allocated_hours",
    "used_hours",
)


class ResourceCapacity(SQLModel, table=True):
    __tablename__ = "resource_capacities"
    __table_args__ = (
        CheckConstraint("allocated_hours >= 0", name="allocated_hours"),
        CheckConstraint("used_hours >= 0", name="used_hours"),
        # One row per dealership, resource type, day and person; user_id NULL is the team row.
        Index(
            "uq_resource_capacities_team",
            "dealership_id",
            "resource_type_id",
            "date",
            unique=True,
            sqlite_where=text("user_id IS NULL"),
            postgresql_where=text("user_id IS NULL"),
        ),
        Index(
            "uq_resource_capacities_person",
            "dealership_id",
            "resource_type_id",
            "date",
            "user_id",
            unique=True,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        # A person's rows by day, with their hours (migration 0017): their day over every kind
        # of work (the ledger's check, the nearest day with room) and their weeks (the
        # dashboard's workload) are read from this index alone.
        Index(
            "ix_resource_capacities_person_day",
            *PERSON_DAY_COLUMNS,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dealership_id: int = Field(foreign_key="dealership.id")
    resource_type_id: int = Field(foreign_key="resource_types.id")
    date: date
    allocated_hours: float = Field(default=0.0)
    used_hours: float = Field(default=0.0)
    # Calculated by the database: allocated - used.
    available_hours: float | None = Field(
        default=None,
        sa_column=Column(Float, Computed("allocated_hours - used_hours", persisted=True)),
    )
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # improvement 5: the weekly pattern that produced this row, e.g.
    # {"type": "weekly", "days": ["monday", "tuesday"], "hours": 8}
    recurrence_pattern: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Collection 7: resource_sharing
# ------------------------------------------------------------------------------------------------
class ResourceSharing(SQLModel, table=True):
    __tablename__ = "resource_sharing"
    __table_args__ = (
        UniqueConstraint("provider_dealership_id", "consumer_dealership_id", "resource_type_id"),
        CheckConstraint("priority BETWEEN 0 AND 100", name="priority"),
        CheckConstraint("max_hours_per_week >= 0", name="max_hours_per_week"),
        CheckConstraint("provider_dealership_id <> consumer_dealership_id", name="distinct"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_dealership_id: int = Field(foreign_key="dealership.id")
    consumer_dealership_id: int = Field(foreign_key="dealership.id", index=True)
    resource_type_id: int = Field(foreign_key="resource_types.id")
    enabled: bool = Field(default=True)
    max_hours_per_week: float = Field(default=0.0)
    priority: int = Field(default=50)
    notes: str | None = None
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Improvement 1: parts_orders
# ------------------------------------------------------------------------------------------------
class PartsOrder(SQLModel, table=True):
    __tablename__ = "parts_orders"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(PARTS_STATUSES)}", name="status"),
        CheckConstraint(f"ordered_by IN {sql_in(PARTS_ORDERED_BY)}", name="ordered_by"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    part_name: str = Field(max_length=120)
    part_number: str | None = Field(default=None, max_length=60)
    quantity: int = Field(default=1)
    supplier: str | None = Field(default=None, max_length=120)
    status: str = Field(default="ordered", max_length=20)
    ordered_by: str = Field(default="prep_center", max_length=20)
    notes: str | None = None
    ordered_at: datetime | None = _ts()
    arrived_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Improvement 2: timebank_entries (a running clock has started_at and no ended_at)
# ------------------------------------------------------------------------------------------------
class TimebankEntry(SQLModel, table=True):
    __tablename__ = "timebank_entries"
    __table_args__ = (
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="order"),
        # One running timer per person.
        Index(
            "uq_timebank_entries_running",
            "user_id",
            unique=True,
            sqlite_where=text("started_at IS NOT NULL AND ended_at IS NULL"),
            postgresql_where=text("started_at IS NOT NULL AND ended_at IS NULL"),
        ),
        Index("ix_timebank_entries_user_id_date", "user_id", "date"),
        # The closed entries' hours (productivity, the time bank), from the index alone.
        Index(
            "ix_timebank_entries_closed",
            "user_id",
            "date",
            "resource_type_id",
            "hours",
            sqlite_where=text("ended_at IS NOT NULL OR started_at IS NULL"),
            postgresql_where=text("ended_at IS NOT NULL OR started_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    date: date
    resource_type_id: int = Field(foreign_key="resource_types.id")
    hours: float | None = None
    booking_id: int | None = Field(default=None, foreign_key="resource_bookings.id", index=True)
    started_at: datetime | None = _ts()
    ended_at: datetime | None = _ts()
    notes: str | None = None
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Improvement 3: inspection_checklist_items
# ------------------------------------------------------------------------------------------------
class InspectionChecklistItem(SQLModel, table=True):
    __tablename__ = "inspection_checklist_items"
    __table_args__ = (CheckConstraint(f"status IN {sql_in(CHECKLIST_STATUSES)}", name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    item_name: str = Field(max_length=120)
    status: str = Field(default="ok", max_length=20)
    notes: str | None = None
    checked_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    checked_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Improvement 4: customer_communications
# ------------------------------------------------------------------------------------------------
class CustomerCommunication(SQLModel, table=True):
    __tablename__ = "customer_communications"
    __table_args__ = (CheckConstraint(f"type IN {sql_in(COMMUNICATION_TYPES)}", name="type"),)

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    customer_name: str | None = Field(default=None, max_length=120)
    type: str = Field(max_length=10)
    message: str
    sent_at: datetime | None = _ts()
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


# ------------------------------------------------------------------------------------------------
# Improvement 7: car_documents (the file itself is kept in the database: every site sees it)
# ------------------------------------------------------------------------------------------------
class CarDocument(SQLModel, table=True):
    __tablename__ = "car_documents"
    __table_args__ = (CheckConstraint(f"type IN {sql_in(DOCUMENT_TYPES)}", name="type"),)

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    type: str = Field(default="other", max_length=20)
    filename: str = Field(max_length=255)
    filesize: int = Field(default=0)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    uploaded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    uploaded_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# Issue 20: estimates of extra work on a car, and their lines (db/estimates.py).  Money is integer
# øre: exact sums on both engines (SQLite has no decimal type; a float would drift), and one
# NOK amount is ``ore / 100``.
# ------------------------------------------------------------------------------------------------
class Estimate(SQLModel, table=True):
    __tablename__ = "estimates"
    __table_args__ = (
        CheckConstraint(f"state IN {sql_in(ESTIMATE_STATES)}", name="state"),
        CheckConstraint(
            "state = 'draft' OR (sent_at IS NOT NULL AND sent_by_id IS NOT NULL)", name="sent"
        ),
        CheckConstraint(
            f"(state IN {sql_in(ESTIMATE_DECIDED_STATES)}) = "
            "(decided_at IS NOT NULL AND decided_by_id IS NOT NULL)",
            name="decided",
        ),
        # one draft per car: the inspection's findings are added to it
        Index(
            "uq_estimates_draft",
            "car_id",
            unique=True,
            sqlite_where=text("state = 'draft'"),
            postgresql_where=text("state = 'draft'"),
        ),
        # the dashboard: the estimates decided in a period
        Index("ix_estimates_decided_at", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    state: str = Field(default="draft", max_length=20)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    sent_at: datetime | None = _ts()
    sent_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = _ts()
    decided_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # what the customer answered, as the seller noted it when deciding
    customer_answer: str | None = None
    notes: str | None = None
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class EstimateLine(SQLModel, table=True):
    __tablename__ = "estimate_lines"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(ESTIMATE_LINE_KINDS)}", name="kind"),
        CheckConstraint(f"decision IN {sql_in(ESTIMATE_DECISIONS)}", name="decision"),
        CheckConstraint(
            "kind <> 'part' OR (quantity > 0 AND unit_price_ore >= 0 AND hours IS NULL "
            "AND resource_type_id IS NULL AND booking_id IS NULL)",
            name="part",
        ),
        CheckConstraint(
            "kind <> 'labour' OR (hours > 0 AND hourly_rate_ore >= 0 "
            "AND resource_type_id IS NOT NULL AND parts_order_id IS NULL)",
            name="labour",
        ),
        CheckConstraint("amount_ore >= 0", name="amount_ore"),
    )

    id: int | None = Field(default=None, primary_key=True)
    estimate_id: int = Field(foreign_key="estimates.id", index=True)
    kind: str = Field(max_length=10)
    description: str = Field(max_length=200)
    # a part: its number, how many and the price of one
    part_number: str | None = Field(default=None, max_length=60)
    quantity: int | None = None
    unit_price_ore: int | None = None
    # labour: the kind of work, its hours, the price of an hour (copied from the setting when the
    # line was made, so that what was sent keeps its price) and who does it
    resource_type_id: int | None = Field(default=None, foreign_key="resource_types.id")
    hours: float | None = None
    hourly_rate_ore: int | None = None
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # the line's price (quantity x unit price, or hours x rate rounded to the øre): kept, as sent
    amount_ore: int = Field(default=0)
    inspection_item_id: int | None = Field(
        default=None, foreign_key="inspection_checklist_items.id"
    )
    decision: str = Field(default="pending", max_length=10)
    parts_order_id: int | None = Field(default=None, foreign_key="parts_orders.id")
    booking_id: int | None = Field(default=None, foreign_key="resource_bookings.id")
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# car_access: the dealerships that work on a car besides its own dealership and its prep center
# (the providers of its bookings elsewhere).  Kept by the ledger; it makes "cars a dealership works
# on as provider" a cheap indexed lookup for every list instead of a scan of the bookings.
# ------------------------------------------------------------------------------------------------
class CarAccess(SQLModel, table=True):
    __tablename__ = "car_access"
    __table_args__ = (
        UniqueConstraint("car_id", "dealership_id"),  # one row per car and dealership
        Index("ix_car_access_dealership_id_car_id", "dealership_id", "car_id"),
    )

    # one key column, as every table has (Directus and other tools address a row by one key)
    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id")
    dealership_id: int = Field(foreign_key="dealership.id")


# ------------------------------------------------------------------------------------------------
# prepfloor: the outbox of messages to customers (db/outbox.py), the dealerships' templates of them
# and their choices (which milestones send, preview first, the channel)
# ------------------------------------------------------------------------------------------------
class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"channel IN {sql_in(OUTBOX_CHANNELS)}", name="channel"),
        CheckConstraint(f"milestone IN {sql_in(OUTBOX_MILESTONES)}", name="milestone"),
        CheckConstraint(f"state IN {sql_in(OUTBOX_STATES)}", name="state"),
        CheckConstraint(f"language IN {sql_in(OUTBOX_LANGUAGES)}", name="language"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # the sender's queue: what is due, oldest first
        Index("ix_outbox_messages_state_next_attempt_at", "state", "next_attempt_at"),
        # one message per car, milestone and occasion (a delay: once per promised date)
        Index(
            "uq_outbox_messages_occasion",
            "car_id",
            "milestone",
            "occasion",
            unique=True,
            sqlite_where=text("occasion IS NOT NULL"),
            postgresql_where=text("occasion IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    car_id: int = Field(foreign_key="cars.id", index=True)
    dealership_id: int = Field(foreign_key="dealership.id")
    channel: str = Field(max_length=10)
    recipient: str = Field(max_length=254)
    subject: str | None = Field(default=None, max_length=200)
    body: str
    milestone: str = Field(max_length=20)
    # what makes a milestone's message once-only, e.g. the promised date of a delay
    occasion: str | None = Field(default=None, max_length=40)
    language: str = Field(default="nb", max_length=8, sa_column_kwargs={"server_default": "nb"})
    state: str = Field(
        default="queued", max_length=20, sa_column_kwargs={"server_default": "queued"}
    )
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    next_attempt_at: datetime | None = _ts()
    # the sender holding it (host, pid, start) and since when; a lease that ran out is taken over
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = _ts()
    # written (committed) just before the mail server is told the message is complete
    handing_over_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    # the server's last reply, or why the message waits or failed
    last_reply: str | None = None
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    contact_id: int | None = Field(default=None, foreign_key="customer_communications.id")
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class OutboxTemplate(SQLModel, table=True):
    """A dealership's own wording of a milestone's message (else the built-in one)."""

    __tablename__ = "outbox_templates"
    __table_args__ = (
        CheckConstraint(f"channel IN {sql_in(OUTBOX_CHANNELS)}", name="channel"),
        CheckConstraint(f"milestone IN {sql_in(OUTBOX_MILESTONES)}", name="milestone"),
        CheckConstraint(f"language IN {sql_in(OUTBOX_LANGUAGES)}", name="language"),
        UniqueConstraint("dealership_id", "milestone", "language", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dealership_id: int = Field(foreign_key="dealership.id")
    milestone: str = Field(max_length=20)
    language: str = Field(max_length=8)
    channel: str = Field(max_length=10)
    subject: str | None = Field(default=None, max_length=200)
    body: str
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class OutboxSetting(SQLModel, table=True):
    """A dealership's choices for messages to its customers (none: nothing is sent by itself)."""

    __tablename__ = "outbox_settings"
    __table_args__ = (
        CheckConstraint(f"channel IN {sql_in(OUTBOX_CHANNELS)}", name="channel"),
        CheckConstraint(f"language IN {sql_in(OUTBOX_LANGUAGES)}", name="language"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dealership_id: int = Field(foreign_key="dealership.id", unique=True)
    # the milestones that write a message, e.g. ["registered", "ready"]
    milestones: list[str] | None = Field(default=None, sa_type=JSON)
    # a milestone's message is a draft the seller reads, edits and releases
    preview: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    channel: str = Field(
        default="email", max_length=10, sa_column_kwargs={"server_default": "email"}
    )
    language: str = Field(default="nb", max_length=8, sa_column_kwargs={"server_default": "nb"})
    updated_at: datetime | None = _ts()


# ------------------------------------------------------------------------------------------------
# events: one row per write — the audit trail and the change feed
# ------------------------------------------------------------------------------------------------
class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity_entity_id", "entity", "entity_id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    occurred_at: datetime | None = _ts()
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=40)
    action: str = Field(max_length=40)
    changes: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    car_id: int | None = Field(default=None, foreign_key="cars.id", index=True)
    # a write by another client than prepfloor (PostgreSQL's triggers, db/triggers.py): its
    # database role and application name; NULL for prepfloor's own (``user_id`` says who)
    writer: str | None = Field(default=None, max_length=120)


TABLES: dict[str, type[SQLModel]] = {
    model.__tablename__: model  # type: ignore[misc]
    for model in (
        Dealership,
        User,
        Car,
        Notification,
        NotificationPreference,
        ResourceType,
        ResourceBooking,
        ResourceCapacity,
        ResourceSharing,
        PartsOrder,
        TimebankEntry,
        InspectionChecklistItem,
        CustomerCommunication,
        CarDocument,
        CarAccess,
        Estimate,
        EstimateLine,
        OutboxMessage,
        OutboxTemplate,
        OutboxSetting,
        Event,
    )
}


# ------------------------------------------------------------------------------------------------
# Text: no control characters in any text column, and a length limit that holds on both engines
# (SQLite stores any length; PostgreSQL refuses what is longer than the column with an error).
# ------------------------------------------------------------------------------------------------
protect_text_columns(SQLModel.metadata)

_TEXT_COLUMNS: dict[type, list[tuple[str, int | None]]] = {
    model: [
        (column.key, getattr(column.type.impl, "length", None))
        for column in model.__table__.columns  # type: ignore[attr-defined]
        if isinstance(column.type, SafeString)
    ]
    for model in TABLES.values()
}


# The text columns a person types into, as a form names them (in the reader's language).
COLUMN_LABELS = Labels(
    {
        "body": N_("Message"),
        "brand": N_("Brand"),
        "code": N_("Code"),
        "color": N_("Color"),
        "cosmetic_notes": N_("Cosmetic notes"),
        "customer_answer": N_("Customer's answer"),
        "customer_email": N_("Customer email"),
        "customer_name": N_("Customer name"),
        "customer_phone": N_("Customer phone"),
        "dealership_name": N_("Dealership name"),
        "dealership_number": N_("Dealership number"),
        "description": N_("Description"),
        "display_name": N_("Display name"),
        "email": N_("Email"),
        "filename": N_("Filename"),
        "icon": N_("Icon"),
        "inspection_notes": N_("Inspection notes"),
        "item_name": N_("Item name"),
        "license_plate": N_("License plate"),
        "location": N_("Location"),
        "login": N_("Login"),
        "logo": N_("Logo"),
        "message": N_("Message"),
        "model": N_("Model"),
        "name": N_("Name"),
        "notes": N_("Notes"),
        "order_number": N_("Order number"),
        "part_name": N_("Part name"),
        "part_number": N_("Part number"),
        "recipient": N_("Recipient"),
        "parts_notes": N_("Parts notes"),
        "seller_notes": N_("Seller notes"),
        "subject": N_("Subject"),
        "supplier": N_("Supplier"),
        "technical_notes": N_("Technical notes"),
        "vin": N_("Vin"),
    }
)


def column_label(name: str) -> str:
    """``customer_name`` → ``Customer name`` (``Kundenavn``)."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    return name.replace("_", " ").capitalize()


@event.listens_for(OrmSession, "before_flush")
def _text_fits(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Before a row is written: its text cleaned (:func:`db.text.clean`) and within its column's
    length, else :class:`InvalidFields` naming each field that is too long."""
    problems: dict[str, str] = {}
    for row in (*session.new, *session.dirty):
        for key, length in _TEXT_COLUMNS.get(type(row), ()):
            value = row.__dict__.get(key)
            if not isinstance(value, str):
                continue
            cleaned = clean(value, multiline=length is None)
            if cleaned != value:
                setattr(row, key, cleaned)
            most = NOTE_LIMIT if length is None else length
            if len(cleaned) > most:
                problems[key] = _("{field}: at most {most} characters ({given} given).").format(
                    field=column_label(key),
                    most=formats.number(most, 0),
                    given=formats.number(len(cleaned), 0),
                )
    if problems:
        raise InvalidFields(problems)
