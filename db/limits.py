"""How many characters each text column holds: what a form says beside a field as it is typed,
and what every write is held to (:func:`db.models._text_fits`, the same on both engines).

Light on purpose (no SQLAlchemy): a form knows its limits before the database layer has loaded.
``tests/test_plain_text.py`` checks that this is exactly what the tables say.
"""

from __future__ import annotations

# Notes, messages and other text of several lines: long enough for anything a person writes, short
# enough that a pasted file or a runaway import is refused rather than stored.
NOTE_LIMIT = 20_000

# table -> column -> characters, for the text columns of one line
TEXT_LIMITS: dict[str, dict[str, int]] = {
    "dealership": {
        "dealership_number": 20,
        "dealership_name": 120,
        "location": 120,
        "dealership_type": 20,
        "brand": 60,
        "logo": 500,
    },
    "users": {
        "login": 64,
        "display_name": 120,
        "email": 254,
        "role": 20,
        "pin_hash": 200,
        "password_hash": 200,
        "badge_hash": 200,
        "start_mode": 20,
        "language": 8,
    },
    "cars": {
        "vin": 17,
        "license_plate": 20,
        "brand": 60,
        "model": 80,
        "color": 40,
        "order_number": 40,
        "customer_name": 120,
        "customer_phone": 40,
        "customer_email": 254,
        "car_type": 20,
        "status": 30,
    },
    "notifications": {
        "type": 30,
        "priority": 10,
    },
    "notification_preferences": {
        "type": 30,
        "mode": 10,
    },
    "resource_types": {
        "code": 40,
        "name": 80,
        "icon": 40,
        "color": 20,
        "prep_stage": 20,
    },
    "resource_bookings": {
        "status": 20,
    },
    "parts_orders": {
        "part_name": 120,
        "part_number": 60,
        "supplier": 120,
        "status": 20,
        "ordered_by": 20,
    },
    "estimates": {
        "state": 20,
    },
    "estimate_lines": {
        "kind": 10,
        "description": 200,
        "part_number": 60,
        "decision": 10,
    },
    "inspection_checklist_items": {
        "item_name": 120,
        "status": 20,
    },
    "customer_communications": {
        "customer_name": 120,
        "type": 10,
    },
    "car_documents": {
        "type": 20,
        "filename": 255,
    },
    "outbox_messages": {
        "channel": 10,
        "recipient": 254,
        "subject": 200,
        "milestone": 20,
        "occasion": 40,
        "language": 8,
        "state": 20,
        "claimed_by": 200,
    },
    "outbox_templates": {
        "milestone": 20,
        "language": 8,
        "channel": 10,
        "subject": 200,
    },
    "outbox_settings": {
        "channel": 10,
        "language": 8,
    },
    "events": {
        "entity": 40,
        "entity_id": 40,
        "action": 40,
        "writer": 120,
    },
}


def limit(table: str, column: str) -> int | None:
    """The characters ``table.column`` holds (``None``: not a text column of one line)."""
    return TEXT_LIMITS.get(table, {}).get(column)
