"""What Directus should know about prepfloor's tables, derived from the code.

A group may run Directus (a headless CMS with an admin app) on prepfloor's PostgreSQL database.
Directus finds every table, column and foreign key by itself; what it cannot find is in tables of
its own, which Directus's admin app writes when someone configures a collection by hand:

- ``directus_collections``, one row per collection: its icon, note, display template (how an item
  is named where it is shown or picked: a car as ``{{brand}} {{model}} {{license_plate}}``, not as
  its id), and whether it is hidden from the sidebar;
- ``directus_fields``, one row per field: its interface (a dropdown of choices, a picker of a
  related item), the interface's options (the choices), how a value is displayed, whether it is
  read-only, hidden or required, what values it takes (a validation rule), and a note;
- ``directus_relations``, one row per relation Directus was told more about than the foreign key
  says: here the way back, a list of a car's bookings, parts, checks, messages, files and history
  on the car's page.

Without those rows a status is a free text box (a word outside prepfloor's vocabulary is refused
by the database's CHECK constraint: an error 500), the generated ``available_hours`` looks editable
(saving it is an error too), and prepfloor's bookkeeping tables fill the sidebar.  This module
derives those rows from the code: the choices from :mod:`db.vocab`, the read-only and required
fields and the validation rules from the models (:mod:`db.models`: their columns and CHECK
constraints, so that Directus refuses a wrong value itself, an error 400 that names the field), the
pickers from the foreign keys.  :mod:`db.directus_apply` writes them (``prepfloor directus
apply``).

What is here is prepfloor's opinion only: a field or setting not named here is left to Directus
and to the admin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CheckConstraint

from db.i18n import LANGUAGES, Labels
from db.modes import MODES
from db.vocab import (
    BOOKING_HOLDING_STATUSES,
    BOOKING_STATUS_LABELS,
    BOOKING_STATUSES,
    CAR_STATUS_LABELS,
    CAR_STATUSES,
    CAR_TYPE_LABELS,
    CAR_TYPES,
    CHECKLIST_STATUS_LABELS,
    CHECKLIST_STATUSES,
    COMMUNICATION_TYPE_LABELS,
    COMMUNICATION_TYPES,
    DEALERSHIP_TYPE_LABELS,
    DEALERSHIP_TYPES,
    DOCUMENT_TYPE_LABELS,
    DOCUMENT_TYPES,
    ESTIMATE_DECISION_LABELS,
    ESTIMATE_DECISIONS,
    ESTIMATE_LINE_KIND_LABELS,
    ESTIMATE_LINE_KINDS,
    ESTIMATE_STATE_LABELS,
    ESTIMATE_STATES,
    NOTIFICATION_MODES,
    NOTIFICATION_TYPE_LABELS,
    NOTIFICATION_TYPES,
    OUTBOX_CHANNEL_LABELS,
    OUTBOX_CHANNELS,
    OUTBOX_LANGUAGES,
    OUTBOX_MILESTONE_LABELS,
    OUTBOX_MILESTONES,
    OUTBOX_STATE_LABELS,
    OUTBOX_STATES,
    PARTS_ORDERED_BY,
    PARTS_ORDERED_BY_LABELS,
    PARTS_STATUS_LABELS,
    PARTS_STATUSES,
    PREP_STAGE_LABELS,
    PREP_STAGES,
    PRIORITIES,
    PRIORITY_LABELS,
    ROLE_LABELS,
    ROLES,
)

# Alembic's bookkeeping table: prepfloor's, but not a model.
ALEMBIC_TABLE = "alembic_version"

# ------------------------------------------------------------------------------------------------
# Collections
# ------------------------------------------------------------------------------------------------
# How an item is named where Directus shows or picks it.  Every field named here is a column of the
# collection, or a column of the collection a foreign key points to (``{{car_id.brand}}``): a test
# checks them against the models.
DISPLAY_TEMPLATES: dict[str, str] = {
    "cars": "{{brand}} {{model}} {{license_plate}}",
    "dealership": "{{dealership_number}} {{dealership_name}}",
    "users": "{{display_name}}",
    "resource_types": "{{name}}",
    "resource_bookings": "{{date}} {{resource_type_id.name}} {{estimated_hours}} h "
    "({{car_id.brand}} {{car_id.model}} {{car_id.license_plate}})",
    "resource_capacities": "{{date}} {{resource_type_id.name}} "
    "{{dealership_id.dealership_name}} {{user_id.display_name}}",
    "resource_sharing": "{{provider_dealership_id.dealership_name}} → "
    "{{consumer_dealership_id.dealership_name}}: {{resource_type_id.name}}",
    "notifications": "{{type}}: {{message}}",
    "notification_preferences": "{{user_id.display_name}}: {{type}} {{mode}}",
    "parts_orders": "{{part_name}} ({{status}})",
    "timebank_entries": "{{date}} {{user_id.display_name}} {{resource_type_id.name}} {{hours}} h",
    "inspection_checklist_items": "{{item_name}} ({{status}})",
    "customer_communications": "{{type}} {{customer_name}} {{sent_at}}",
    "car_documents": "{{filename}} ({{type}})",
    "user_keys": "{{user_id.display_name}} {{key_type}} {{fingerprint}}",
    "car_access": "{{car_id.license_plate}} → {{dealership_id.dealership_name}}",
    "estimates": "#{{id}} {{car_id.brand}} {{car_id.model}} {{car_id.license_plate}} ({{state}})",
    "estimate_lines": "{{kind}} {{description}} ({{decision}})",
    "outbox_messages": "{{channel}} {{recipient}} {{milestone}} ({{state}})",
    "outbox_templates": "{{dealership_id.dealership_number}} {{milestone}} {{channel}} {{language}}",
    "outbox_settings": "{{dealership_id.dealership_number}} {{dealership_id.dealership_name}}",
    "events": "{{occurred_at}} {{entity}} #{{entity_id}} {{action}}",
}

# Bookkeeping a business admin does not work in: out of the sidebar (still reachable by URL and
# through the API; what a role may read or write is Directus's permissions, not this).
HIDDEN_COLLECTIONS: tuple[str, ...] = (
    "user_keys",
    "car_access",
    "notification_preferences",
    ALEMBIC_TABLE,
)
# The audit trail: shown, every field read-only (a business admin reads who changed what).
READ_ONLY_COLLECTIONS: tuple[str, ...] = ("events",)

# Material icon names (Directus's icon set); set when the row is created.
ICONS: dict[str, str] = {
    "cars": "directions_car",
    "dealership": "storefront",
    "users": "badge",
    "resource_types": "category",
    "resource_bookings": "event",
    "resource_capacities": "calendar_month",
    "resource_sharing": "handshake",
    "notifications": "notifications",
    "parts_orders": "inventory_2",
    "timebank_entries": "timer",
    "inspection_checklist_items": "checklist",
    "customer_communications": "forum",
    "car_documents": "description",
    "events": "history",
    "user_keys": "key",
    "car_access": "lock_open",
    "notification_preferences": "tune",
    ALEMBIC_TABLE: "schema",
}

# The sidebar's order (the seed's collections first, then the improvements); set on creation.
ORDER: tuple[str, ...] = (
    "cars",
    "resource_bookings",
    "resource_capacities",
    "resource_types",
    "resource_sharing",
    "dealership",
    "users",
    "notifications",
    "parts_orders",
    "timebank_entries",
    "inspection_checklist_items",
    "customer_communications",
    "car_documents",
    "events",
    "notification_preferences",
    "user_keys",
    "car_access",
    ALEMBIC_TABLE,
)

COLLECTION_NOTES: dict[str, str] = {
    "cars": "Vehicles through the prep workflow, from order to delivery (kept by prepfloor).",
    "dealership": "Dealerships and prep centers: hierarchy, type, branding.",
    "users": "prepfloor's users (sellers, coordinators, mechanics, detailers, managers, admins); "
    "not Directus's own users.",
    "resource_types": "Kinds of work that can be booked and clocked.",
    "resource_bookings": "Work booked on a car. The database keeps the capacity rows' used "
    "hours and refuses a booking that does not fit.",
    "resource_capacities": "Hours per dealership, kind of work and day (a person's row, or the "
    "team's when the user is empty).",
    "resource_sharing": "Which dealership may book work at which prep center, and how much a week.",
    "notifications": "Messages to prepfloor's users.",
    "parts_orders": "Parts ordered for a car.",
    "timebank_entries": "Hours clocked on work (a running clock has a start and no end).",
    "inspection_checklist_items": "The items checked when a car is inspected.",
    "customer_communications": "What was said to a car's customer, and how.",
    "car_documents": "Files kept with a car (the file itself is in the database; add files in "
    "prepfloor).",
    "events": "The audit trail: one row per change, by prepfloor or another client (writer).",
    "notification_preferences": "prepfloor: each user's muted or digested notification types.",
    "user_keys": "prepfloor: the SSH keys users sign in with.",
    "car_access": "prepfloor: which dealerships work on a car (kept from the bookings).",
    ALEMBIC_TABLE: "prepfloor: the schema's revision (prepfloor db upgrade).",
}


# ------------------------------------------------------------------------------------------------
# Fields
# ------------------------------------------------------------------------------------------------
def _words(value: str) -> str:
    """A label for a code without one: ``no_show`` → ``No show``."""
    return value.replace("_", " ").capitalize()


def _labelled(values: tuple[str, ...], labels: Labels | Mapping[str, str] | None) -> list[Any]:
    """``[(value, English label)]`` in the vocabulary's order."""
    found = []
    for value in values:
        if isinstance(labels, Labels) and value in labels:
            text = labels.source(value)
        elif labels is not None and value in labels:
            text = labels[value]
        else:
            text = _words(value)
        found.append((value, text))
    return found


@dataclass(frozen=True)
class Vocabulary:
    """The codes a field takes, each with its English label; ``closed``: the database refuses any
    other (a CHECK constraint)."""

    choices: tuple[tuple[str, str], ...]
    closed: bool = True


def _vocabulary(
    values: tuple[str, ...], labels: Labels | Mapping[str, str] | None, closed: bool = True
) -> Vocabulary:
    return Vocabulary(tuple(_labelled(values, labels)), closed)


# (collection, field) -> its vocabulary.  Every ``column IN (...)`` CHECK constraint of the models
# is here with the same values (a test checks it).
VOCABULARIES: dict[tuple[str, str], Vocabulary] = {
    ("cars", "status"): _vocabulary(CAR_STATUSES, CAR_STATUS_LABELS),
    ("cars", "car_type"): _vocabulary(CAR_TYPES, CAR_TYPE_LABELS),
    ("dealership", "dealership_type"): _vocabulary(DEALERSHIP_TYPES, DEALERSHIP_TYPE_LABELS),
    ("users", "role"): _vocabulary(ROLES, ROLE_LABELS),
    ("users", "start_mode"): _vocabulary(
        tuple(MODES), {name: title for name, (title, _roles) in MODES.items()}, closed=False
    ),
    ("users", "language"): _vocabulary(tuple(LANGUAGES), LANGUAGES, closed=False),
    ("resource_bookings", "status"): _vocabulary(BOOKING_STATUSES, BOOKING_STATUS_LABELS),
    ("resource_types", "prep_stage"): _vocabulary(PREP_STAGES, PREP_STAGE_LABELS),
    ("notifications", "priority"): _vocabulary(PRIORITIES, PRIORITY_LABELS),
    ("notifications", "type"): _vocabulary(
        NOTIFICATION_TYPES, NOTIFICATION_TYPE_LABELS, closed=False
    ),
    ("notification_preferences", "type"): _vocabulary(
        NOTIFICATION_TYPES, NOTIFICATION_TYPE_LABELS, closed=False
    ),
    ("notification_preferences", "mode"): _vocabulary(NOTIFICATION_MODES, None),
    ("parts_orders", "status"): _vocabulary(PARTS_STATUSES, PARTS_STATUS_LABELS),
    ("parts_orders", "ordered_by"): _vocabulary(PARTS_ORDERED_BY, PARTS_ORDERED_BY_LABELS),
    ("inspection_checklist_items", "status"): _vocabulary(
        CHECKLIST_STATUSES, CHECKLIST_STATUS_LABELS
    ),
    ("customer_communications", "type"): _vocabulary(
        COMMUNICATION_TYPES, COMMUNICATION_TYPE_LABELS
    ),
    ("car_documents", "type"): _vocabulary(DOCUMENT_TYPES, DOCUMENT_TYPE_LABELS),
    ("estimates", "state"): _vocabulary(ESTIMATE_STATES, ESTIMATE_STATE_LABELS),
    ("estimate_lines", "kind"): _vocabulary(ESTIMATE_LINE_KINDS, ESTIMATE_LINE_KIND_LABELS),
    ("estimate_lines", "decision"): _vocabulary(ESTIMATE_DECISIONS, ESTIMATE_DECISION_LABELS),
    ("outbox_messages", "channel"): _vocabulary(OUTBOX_CHANNELS, OUTBOX_CHANNEL_LABELS),
    ("outbox_messages", "milestone"): _vocabulary(OUTBOX_MILESTONES, OUTBOX_MILESTONE_LABELS),
    ("outbox_messages", "state"): _vocabulary(OUTBOX_STATES, OUTBOX_STATE_LABELS),
    ("outbox_messages", "language"): _vocabulary(OUTBOX_LANGUAGES, LANGUAGES),
    ("outbox_templates", "channel"): _vocabulary(OUTBOX_CHANNELS, OUTBOX_CHANNEL_LABELS),
    ("outbox_templates", "milestone"): _vocabulary(OUTBOX_MILESTONES, OUTBOX_MILESTONE_LABELS),
    ("outbox_templates", "language"): _vocabulary(OUTBOX_LANGUAGES, LANGUAGES),
    ("outbox_settings", "channel"): _vocabulary(OUTBOX_CHANNELS, OUTBOX_CHANNEL_LABELS),
    ("outbox_settings", "language"): _vocabulary(OUTBOX_LANGUAGES, LANGUAGES),
}

# Kept by the database or by prepfloor's rules, never typed in Directus: (collection, field) ->
# why, as the field's note.  Besides these: every primary key, every generated column, and the
# times a row was made and changed (:data:`STAMPS`).
KEPT: dict[tuple[str, str], str] = {
    ("resource_capacities", "used_hours"): "Kept by the database: the estimated hours of the "
    "bookings that hold this row ("
    + ", ".join(BOOKING_STATUS_LABELS.source(s).lower() for s in BOOKING_HOLDING_STATUSES)
    + ").",
    ("cars", "status_changed_at"): "Set by prepfloor's workflow when the status moves.",
    ("users", "failed_pin_attempts"): "prepfloor's sign-in (wrong PINs and passwords); "
    "`prepfloor users set-pin` or `set-password` lifts a lock-out.",
    ("users", "locked_until"): "prepfloor's sign-in (wrong PINs and passwords); "
    "`prepfloor users set-pin` or `set-password` lifts a lock-out.",
    ("car_documents", "filesize"): "The size of the file kept in the database.",
}
STAMPS: tuple[str, ...] = ("created_at", "updated_at", "occurred_at")
STAMP_NOTE = "Set by the database."
GENERATED_NOTE = "Calculated by the database: {expression}."
# Not for anyone's eyes in Directus: secrets, file contents, prepfloor's internal text.
SECRET: dict[tuple[str, str], str] = {
    ("users", "pin_hash"): "prepfloor's hashed PIN (`prepfloor users set-pin`).",
    ("users", "password_hash"): "prepfloor's hashed password, for the browser "
    "(`prepfloor users set-password`).",
    ("users", "badge_hash"): "prepfloor's keyed badge hash (`prepfloor users set-badge`).",
    ("car_documents", "content"): "The file, kept in the database (added in prepfloor).",
    ("notifications", "message_source"): "prepfloor: the message in each reader's language.",
    ("user_keys", "public_key"): "The key (`prepfloor users add-key`).",
}
FIELD_NOTES: dict[tuple[str, str], str] = {
    ("cars", "status"): "The workflow, in order: "
    + " → ".join(CAR_STATUS_LABELS.source(s) for s in CAR_STATUSES)
    + ". prepfloor moves a car one step at a time, checks who may, and sets the step's time; "
    "a status set here does neither.",
    ("resource_bookings", "status"): "Bookings that are "
    + ", ".join(BOOKING_STATUS_LABELS.source(s).lower() for s in BOOKING_HOLDING_STATUSES)
    + " hold capacity; cancelled and no-show ones give it back.",
    ("resource_capacities", "user_id"): "Empty: the team's hours; a person: their own.",
    ("events", "writer"): "Another client than prepfloor that made the change: its database role "
    "(and application).",
    ("events", "user_id"): "The prepfloor user who made the change.",
}
# Columns that hold a color as #rrggbb.
COLORS: tuple[tuple[str, str], ...] = (("resource_types", "color"),)


@dataclass(frozen=True)
class ListOf:
    """A one-to-many list on an item's page: ``collection.field`` (a field Directus keeps, no
    column) lists the rows of ``many`` whose ``many_field`` points at the item."""

    collection: str
    field: str
    many: str
    many_field: str
    readonly: bool = False

    @property
    def name(self) -> str:
        return f"{self.many}.{self.many_field} → {self.collection}.{self.field}"


# A car's page lists its work, parts, checks, messages, files and history.  Documents and the
# history are shown, not edited there (a file is added in prepfloor; the history is written by
# prepfloor and the database).
LISTS: tuple[ListOf, ...] = (
    ListOf("cars", "bookings", "resource_bookings", "car_id"),
    ListOf("cars", "parts_orders", "parts_orders", "car_id"),
    ListOf("cars", "checklist_items", "inspection_checklist_items", "car_id"),
    ListOf("cars", "communications", "customer_communications", "car_id"),
    ListOf("cars", "documents", "car_documents", "car_id", readonly=True),
    ListOf("cars", "history", "events", "car_id", readonly=True),
)


@dataclass(frozen=True)
class CollectionMeta:
    """The ``directus_collections`` settings of one collection.  ``icon`` and ``sort`` are set
    when its row is created (the admin's afterwards); the others whenever they differ."""

    collection: str
    display_template: str | None
    hidden: bool
    note: str | None
    icon: str | None
    sort: int | None

    def managed(self) -> dict[str, Any]:
        return {
            "display_template": self.display_template,
            "hidden": self.hidden,
            "note": self.note,
        }

    def on_create(self) -> dict[str, Any]:
        return {"icon": self.icon, "sort": self.sort}


@dataclass(frozen=True)
class FieldMeta:
    """The ``directus_fields`` settings of one field that prepfloor has an opinion on; what is
    left out (None) is Directus's or the admin's.  ``options`` and ``display_options`` are merged
    into what is there (prepfloor's keys win)."""

    collection: str
    field: str
    values: dict[str, Any] = field(default_factory=dict)
    alias: bool = False  # a field of Directus's own (a one-to-many list), no column

    @property
    def name(self) -> str:
        return f"{self.collection}.{self.field}"


def _choices(vocabulary: Vocabulary) -> list[dict[str, str]]:
    return [{"text": text, "value": value} for value, text in vocabulary.choices]


def _tables() -> dict[str, Any]:
    """prepfloor's tables (SQLAlchemy ``Table`` objects), by name."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401  (every table on the metadata)

    return dict(SQLModel.metadata.tables)


def collection_metadata() -> list[CollectionMeta]:
    """The ``directus_collections`` settings of every prepfloor collection (its tables and
    Alembic's), in the sidebar's order."""
    names = [*_tables(), ALEMBIC_TABLE]
    ordered = sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [
        CollectionMeta(
            collection=name,
            display_template=DISPLAY_TEMPLATES.get(name),
            hidden=name in HIDDEN_COLLECTIONS,
            note=COLLECTION_NOTES.get(name),
            icon=ICONS.get(name),
            sort=position,
        )
        for position, name in enumerate(ordered, start=1)
    ]


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_BOUNDS = (
    (re.compile(rf"^(\w+) >= {_NUMBER}$"), "_gte", "{value} or more."),
    (re.compile(rf"^(\w+) > {_NUMBER}$"), "_gt", "More than {value}."),
)
_BETWEEN = re.compile(rf"^(\w+) BETWEEN {_NUMBER} AND {_NUMBER}$")
_OR_NULL = re.compile(r"^(\w+) IS NULL OR (.*)$")


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def check_rule(column: str, sql: str) -> tuple[dict[str, Any], str] | None:
    """A Directus validation rule (a filter on the payload) and its message for a numeric CHECK
    constraint on one column (``hours >= 0``, ``priority BETWEEN 0 AND 100``, ``hours IS NULL OR
    hours >= 0``); None for any other."""
    nullable = _OR_NULL.match(sql)
    if nullable and nullable.group(1) == column:
        inner = check_rule(column, nullable.group(2))
        if inner is None:
            return None
        return {"_or": [{column: {"_null": True}}, inner[0]]}, inner[1]
    between = _BETWEEN.match(sql)
    if between and between.group(1) == column:
        low, high = _number(between.group(2)), _number(between.group(3))
        return {column: {"_between": [low, high]}}, f"{low} to {high}."
    for pattern, operator, message in _BOUNDS:
        found = pattern.match(sql)
        if found and found.group(1) == column:
            value = _number(found.group(2))
            return {column: {operator: value}}, message.format(value=value)
    return None


def _validation(table: Any, column: Any) -> tuple[dict[str, Any], str] | None:
    """What the database's CHECK constraints allow in ``column``, as a Directus validation rule
    and its message: Directus then refuses a wrong value itself (an error 400 that names the field)
    instead of passing it to the database (an error 500)."""
    vocabulary = VOCABULARIES.get((table.name, column.name))
    if vocabulary is not None and vocabulary.closed:
        allowed: list[Any] = [value for value, _text in vocabulary.choices]
        if column.nullable:
            allowed.append(None)
        labels = ", ".join(text for _value, text in vocabulary.choices)
        return {column.name: {"_in": allowed}}, f"One of: {labels}."
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            rule = check_rule(column.name, str(constraint.sqltext))
            if rule is not None:
                return rule
    return None


def _field_values(table: Any, column: Any) -> dict[str, Any]:
    key = (table.name, column.name)
    values: dict[str, Any] = {}
    vocabulary = VOCABULARIES.get(key)
    if vocabulary is not None:
        options: dict[str, Any] = {"choices": _choices(vocabulary)}
        if not vocabulary.closed:
            options["allowOther"] = True
        if column.nullable:
            options["allowNone"] = True
        values.update(
            interface="select-dropdown",
            options=options,
            display="labels",
            display_options={"choices": _choices(vocabulary)},
        )
    rule = _validation(table, column)
    if rule is not None:
        values.update(validation={"_and": [rule[0]]}, validation_message=rule[1])
    foreign = next(iter(column.foreign_keys), None)
    if foreign is not None:
        target = foreign.column.table.name
        template = DISPLAY_TEMPLATES.get(target)
        values.update(special="m2o", interface="select-dropdown-m2o", display="related-values")
        if template:
            values.update(options={"template": template}, display_options={"template": template})
    if key in COLORS:
        values.update(interface="select-color", display="color")

    note = FIELD_NOTES.get(key)
    readonly = False
    if column.primary_key or table.name in READ_ONLY_COLLECTIONS:
        readonly = True
    if column.computed is not None:
        readonly = True
        note = GENERATED_NOTE.format(expression=str(column.computed.sqltext))
    if column.name in STAMPS:
        readonly, note = True, note or STAMP_NOTE
    if key in KEPT:
        readonly, note = True, KEPT[key]
    if key in SECRET:
        values["hidden"] = True
        readonly, note = True, SECRET[key]
    if readonly:
        values["readonly"] = True
    if note:
        values["note"] = note
    # Directus asks for what the database cannot do without (NOT NULL, no default)
    if (
        not column.nullable
        and column.default is None
        and column.server_default is None
        and not column.primary_key
        and column.computed is None
        and not readonly
    ):
        values["required"] = True
    return values


def _list_values(listing: ListOf) -> dict[str, Any]:
    template = DISPLAY_TEMPLATES.get(listing.many)
    values: dict[str, Any] = {
        "special": "o2m",
        "interface": "list-o2m",
        "display": "related-values",
    }
    if template:
        values.update(options={"template": template}, display_options={"template": template})
    if listing.readonly:
        values["readonly"] = True
    return values


def field_metadata() -> list[FieldMeta]:
    """The ``directus_fields`` settings of every prepfloor field that has any, then the
    one-to-many lists (:data:`LISTS`, fields of Directus's own, with no column)."""
    found = []
    for table in _tables().values():
        for column in table.columns:
            values = _field_values(table, column)
            if values:
                found.append(FieldMeta(table.name, column.name, values))
    found += [FieldMeta(li.collection, li.field, _list_values(li), alias=True) for li in LISTS]
    return found


_TEMPLATE_FIELD = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def template_fields(template: str) -> list[str]:
    """The fields a display template names: ``{{car_id.brand}}`` → ``car_id.brand``."""
    return _TEMPLATE_FIELD.findall(template)
