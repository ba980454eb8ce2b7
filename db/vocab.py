"""The words of the business: statuses, roles and kinds, with the labels the screens show.

Light on purpose (no SQLAlchemy): the car list imports it before the database layer has loaded.
"""

from __future__ import annotations

from db.i18n import N_, Labels

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
CAR_STATUS_LABELS = Labels(
    {
        "draft": N_("Draft"),
        "registered": N_("Registered"),
        "in_transit": N_("In transit"),
        "at_prep_center": N_("At prep center"),
        "inspection": N_("Inspection"),
        "parts_ordered": N_("Parts ordered"),
        "technical_prep": N_("Technical prep"),
        "cosmetic_prep": N_("Cosmetic prep"),
        "ready_for_delivery": N_("Ready for delivery"),
        "delivered": N_("Delivered"),
        "archived": N_("Archived"),
    }
)
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
CAR_TIMESTAMP_LABELS = Labels(
    {
        "registered_at": N_("Registered"),
        "in_transit_at": N_("In transit"),
        "arrived_prep_center_at": N_("Arrived at prep center"),
        "inspection_completed_at": N_("Inspection completed"),
        "parts_ordered_seller_at": N_("Parts ordered (seller)"),
        "parts_arrived_seller_at": N_("Parts arrived (seller)"),
        "parts_ordered_prep_at": N_("Parts ordered (prep center)"),
        "parts_arrived_prep_at": N_("Parts arrived (prep center)"),
        "technical_started_at": N_("Technical work started"),
        "technical_completed_at": N_("Technical work completed"),
        "cosmetic_started_at": N_("Cosmetic work started"),
        "cosmetic_completed_at": N_("Cosmetic work completed"),
        "ready_for_delivery_at": N_("Ready for delivery"),
        "delivered_to_dealership_at": N_("Delivered to dealership"),
        "sold_at": N_("Sold"),
        "delivered_to_customer_at": N_("Delivered to customer"),
        "archived_at": N_("Archived"),
    }
)

# --- users.role --------------------------------------------------------------------------------
ROLES: tuple[str, ...] = ("seller", "coordinator", "mechanic", "detailer", "manager", "admin")
ROLE_LABELS = Labels(
    {
        "seller": N_("Seller"),
        "coordinator": N_("Coordinator"),
        "mechanic": N_("Mechanic"),
        "detailer": N_("Detailer"),
        "manager": N_("Manager"),
        "admin": N_("Admin"),
    }
)

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
    "estimate",  # extra work estimated: sent for approval, approved or declined
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
# --- estimates of extra work (issue 20) ----------------------------------------------------------
ESTIMATE_STATES: tuple[str, ...] = ("draft", "sent", "approved", "declined", "partly_approved")
ESTIMATE_DECIDED_STATES: tuple[str, ...] = ("approved", "declined", "partly_approved")
ESTIMATE_LINE_KINDS: tuple[str, ...] = ("part", "labour")
ESTIMATE_DECISIONS: tuple[str, ...] = ("pending", "approved", "declined")

# --- the outbox of messages to customers (db/outbox.py) -----------------------------------------
OUTBOX_CHANNELS: tuple[str, ...] = ("email", "sms")
# what a message is about: the milestones a dealership may choose, and one written by hand
OUTBOX_MILESTONES: tuple[str, ...] = (
    "registered",
    "arrived",
    "ready",
    "delayed",
    "estimate",
    "manual",
)
# the milestones a dealership chooses to send (``manual`` is always possible)
OUTBOX_AUTOMATIC: tuple[str, ...] = OUTBOX_MILESTONES[:-1]
OUTBOX_STATES: tuple[str, ...] = ("draft", "queued", "sending", "sent", "failed", "cancelled")
OUTBOX_LANGUAGES: tuple[str, ...] = ("nb", "en")


def sql_in(values: tuple[str, ...]) -> str:
    """``('a', 'b')`` for a CHECK constraint or a fixed IN list (values are our own constants)."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# --- labels of the other code lists, as the screens show them ------------------------------------
CAR_TYPE_LABELS = Labels(
    {"new": N_("New"), "used": N_("Used"), "demo": N_("Demo"), "certified": N_("Certified")}
)
DEALERSHIP_TYPE_LABELS = Labels(
    {
        "sales_only": N_("Sales only"),
        "prep_center_only": N_("Prep center only"),
        "sales_and_prep": N_("Sales and prep"),
    }
)
BOOKING_STATUS_LABELS = Labels(
    {
        "scheduled": N_("Scheduled"),
        "confirmed": N_("Confirmed"),
        "in_progress": N_("In progress"),
        "completed": N_("Completed"),
        "cancelled": N_("Cancelled"),
        "no_show": N_("No-show"),
    }
)
PREP_STAGE_LABELS = Labels({"technical": N_("Technical"), "cosmetic": N_("Cosmetic")})
PRIORITY_LABELS = Labels(
    {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "urgent": N_("Urgent")}
)
NOTIFICATION_TYPE_LABELS = Labels(
    {
        "new_order": N_("New order"),
        "parts_changed": N_("Parts changed"),
        "inspection_done": N_("Inspection done"),
        "ready_for_delivery": N_("Ready for delivery"),
        "delivered": N_("Delivered"),
        "status_update": N_("Status update"),
        "booking_request": N_("Booking request"),
        "booking_changed": N_("Booking changed"),
        "timer_forgotten": N_("Timer forgotten"),
        "estimate": N_("Estimate"),
        "digest": N_("Digest"),
    }
)
PARTS_STATUS_LABELS = Labels(
    {
        "ordered": N_("Ordered"),
        "in_transit": N_("In transit"),
        "arrived": N_("Arrived"),
        "installed": N_("Installed"),
        "cancelled": N_("Cancelled"),
    }
)
PARTS_ORDERED_BY_LABELS = Labels({"seller": N_("Seller"), "prep_center": N_("Prep center")})
# who ordered a part, inside a sentence ("Parts ordered: Brake pads (prep center)")
PARTS_ORDERED_BY_WORDS = Labels({"seller": N_("seller"), "prep_center": N_("prep center")})
TIMES_SIGN = "\N{MULTIPLICATION SIGN}"  # Brake pads x2, with the real sign
CHECKLIST_STATUS_LABELS = Labels({"ok": N_("OK"), "issue": N_("Issue"), "critical": N_("Critical")})
COMMUNICATION_TYPE_LABELS = Labels({"sms": N_("SMS"), "email": N_("E-mail"), "call": N_("Call")})
DOCUMENT_TYPE_LABELS = Labels(
    {
        "invoice": N_("Invoice"),
        "photo": N_("Photo"),
        "checklist": N_("Checklist"),
        "other": N_("Other"),
    }
)
ESTIMATE_STATE_LABELS = Labels(
    {
        "draft": N_("Draft"),
        "sent": N_("Sent for approval"),
        "approved": N_("Approved"),
        "declined": N_("Declined"),
        "partly_approved": N_("Partly approved"),
    }
)
ESTIMATE_LINE_KIND_LABELS = Labels({"part": N_("Part"), "labour": N_("Labour")})
ESTIMATE_DECISION_LABELS = Labels(
    {"pending": N_("Pending"), "approved": N_("Approved"), "declined": N_("Declined")}
)
OUTBOX_CHANNEL_LABELS = Labels({"email": N_("E-mail"), "sms": N_("SMS")})
OUTBOX_MILESTONE_LABELS = Labels(
    {
        "registered": N_("Order registered"),
        "arrived": N_("Arrived at the prep center"),
        "ready": N_("Ready for delivery"),
        "delayed": N_("Delayed past the promised date"),
        "estimate": N_("Estimate waiting for an answer"),
        "manual": N_("Written by hand"),
    }
)
OUTBOX_STATE_LABELS = Labels(
    {
        "draft": N_("Draft"),
        "queued": N_("Queued"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
        "failed": N_("Failed"),
        "cancelled": N_("Cancelled"),
    }
)
