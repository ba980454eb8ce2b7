"""The words of the business: statuses, roles and kinds, with the labels the screens show.

Light on purpose (no SQLAlchemy): the car list imports it before the database layer has loaded.
"""

from __future__ import annotations

# --- cars.status: the 11-stage workflow, in order -------------------------------------------
CAR_STATUSES: tuple[str, ...] = (
    "draft",
    "registered",
    "in_transit",
    "at_prep_center",
    "inspection",
    "parts_ordered",
    "technical_prep",
    "cosmetic_prep",
    "ready_for_delivery",
    "delivered",
    "archived",
)
CAR_STATUS_LABELS: dict[str, str] = {
    "draft": "Draft",
    "registered": "Registered",
    "in_transit": "In transit",
    "at_prep_center": "At prep center",
    "inspection": "Inspection",
    "parts_ordered": "Parts ordered",
    "technical_prep": "Technical prep",
    "cosmetic_prep": "Cosmetic prep",
    "ready_for_delivery": "Ready for delivery",
    "delivered": "Delivered",
    "archived": "Archived",
}
# A VIN may belong to one car at a time that is still being worked on.
CAR_INACTIVE_STATUSES: tuple[str, ...] = ("delivered", "archived")

CAR_TYPES: tuple[str, ...] = ("new", "used", "demo", "certified")

# --- the timestamp fields of a car, in the order of the workflow -----------------------------
CAR_TIMESTAMP_FIELDS: tuple[str, ...] = (
    "registered_at",
    "in_transit_at",
    "arrived_prep_center_at",
    "inspection_completed_at",
    "parts_ordered_seller_at",
    "parts_arrived_seller_at",
    "parts_ordered_prep_at",
    "parts_arrived_prep_at",
    "technical_started_at",
    "technical_completed_at",
    "cosmetic_started_at",
    "cosmetic_completed_at",
    "ready_for_delivery_at",
    "delivered_to_dealership_at",
    "sold_at",
    "delivered_to_customer_at",
    "archived_at",
)
CAR_TIMESTAMP_LABELS: dict[str, str] = {
    "registered_at": "Registered",
    "in_transit_at": "In transit",
    "arrived_prep_center_at": "Arrived at prep center",
    "inspection_completed_at": "Inspection completed",
    "parts_ordered_seller_at": "Parts ordered (seller)",
    "parts_arrived_seller_at": "Parts arrived (seller)",
    "parts_ordered_prep_at": "Parts ordered (prep center)",
    "parts_arrived_prep_at": "Parts arrived (prep center)",
    "technical_started_at": "Technical work started",
    "technical_completed_at": "Technical work completed",
    "cosmetic_started_at": "Cosmetic work started",
    "cosmetic_completed_at": "Cosmetic work completed",
    "ready_for_delivery_at": "Ready for delivery",
    "delivered_to_dealership_at": "Delivered to dealership",
    "sold_at": "Sold",
    "delivered_to_customer_at": "Delivered to customer",
    "archived_at": "Archived",
}

# --- users.role --------------------------------------------------------------------------------
ROLES: tuple[str, ...] = ("seller", "coordinator", "mechanic", "detailer", "manager", "admin")
ROLE_LABELS: dict[str, str] = {
    "seller": "Seller",
    "coordinator": "Coordinator",
    "mechanic": "Mechanic",
    "detailer": "Detailer",
    "manager": "Manager",
    "admin": "Admin",
}

# --- dealership.dealership_type ------------------------------------------------------------------
DEALERSHIP_TYPES: tuple[str, ...] = ("sales_only", "prep_center_only", "sales_and_prep")
# Whether a dealership of each type does its own prep, as a form proposes it when the type is
# chosen (db.admin refuses own prep for a sales-only dealership: its prep center prepares its cars).
OWN_PREP_OF_TYPE: dict[str, bool] = {
    "sales_only": False,
    "prep_center_only": True,
    "sales_and_prep": True,
}

# --- resource_bookings.status ---------------------------------------------------------------------
BOOKING_STATUSES: tuple[str, ...] = (
    "scheduled",
    "confirmed",
    "in_progress",
    "completed",
    "cancelled",
    "no_show",
)
# Bookings in these states hold capacity (the ledger sums them).
BOOKING_HOLDING_STATUSES: tuple[str, ...] = ("scheduled", "confirmed", "in_progress", "completed")

# --- resource_types.prep_stage: which car schedule fields a type drives -------------------------
PREP_STAGES: tuple[str, ...] = ("technical", "cosmetic")
# Who can be given work (and personal capacity) of a kind: technical work goes to mechanics,
# cosmetic work to detailers, anything else to either.
WORKER_ROLES: dict[str | None, set[str]] = {
    "technical": {"mechanic"},
    "cosmetic": {"detailer"},
    None: {"mechanic", "detailer"},
}

# --- notifications -------------------------------------------------------------------------------
NOTIFICATION_TYPES: tuple[str, ...] = (
    "new_order",
    "parts_changed",
    "inspection_done",
    "ready_for_delivery",
    "delivered",
    "status_update",
    "booking_request",  # a dealership asks for work at another's prep center
    "booking_changed",  # a booking was declined or moved by someone else
    "timer_forgotten",  # a clock has run past the shift
    "digest",  # the day's low-priority notes of the types a user takes as a digest
)
PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "urgent")
# a user's choice per type: muted, or its low-priority notes gathered in a daily digest
NOTIFICATION_MODES: tuple[str, ...] = ("mute", "digest")

# --- the improvements' tables --------------------------------------------------------------------
PARTS_STATUSES: tuple[str, ...] = ("ordered", "in_transit", "arrived", "installed", "cancelled")
PARTS_ORDERED_BY: tuple[str, ...] = ("seller", "prep_center")
CHECKLIST_STATUSES: tuple[str, ...] = ("ok", "issue", "critical")
COMMUNICATION_TYPES: tuple[str, ...] = ("sms", "email", "call")
DOCUMENT_TYPES: tuple[str, ...] = ("invoice", "photo", "checklist", "other")


def sql_in(values: tuple[str, ...]) -> str:
    """``('a', 'b')`` for a CHECK constraint or a fixed IN list (values are our own constants)."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"
