"""PostgreSQL keeps prepfloor's invariants itself, whoever writes: the triggers.

A group may share its PostgreSQL database with Directus, a BI tool or a script with ``psql``.  What
prepfloor promises must hold for their writes too, so the database does for them what prepfloor's
rules in :mod:`db` do for prepfloor's own writes:

- **the capacity ledger**: a booking written, moved, re-sized, cancelled or deleted by another
  client sets ``used_hours`` of the rows it holds (the team row and the person's row) to the hours of
  the bookings that hold them, in the same transaction; a change that would book more than a row's
  hours, a booking on a day with no capacity row, a booking at another dealership without an
  enabled sharing agreement or over its weekly cap, or one whose consumer is not the car's
  dealership is refused by the database (SQLSTATE 23514, ``check_violation``, with words that say
  what is wrong).  ``used_hours`` written by hand is replaced by what the bookings hold, and hours
  set below what is booked are refused.  ``car_access`` follows the bookings, as
  :mod:`db.car_access` keeps it.
- **the audit**: every insert, update and delete of a business table by another client writes its
  ``events`` row: the table, the row's id, ``create``/``update``/``delete``, the changed columns
  as ``{column: [old, new]}`` (secrets and file contents left out), the car it concerns, and the
  writer (the database role, and the client's ``application_name`` when it gives one).
- **``updated_at``** is set on every update by another client that did not set it.
- **the change feed**: every ``events`` row, whoever wrote it, is announced with
  ``pg_notify('prepfloor_events', 'id entity car action')`` when its transaction commits; every
  open session listens (:mod:`db.feed`) and refreshes only what the change touches.

The ledger and the audit run as the owner of prepfloor's tables (``SECURITY DEFINER``, with the
search path of the migration): another tool's database role needs no right on ``events`` but to
read it, so it cannot rewrite the audit, and the events row names the role it signed in as
(``session_user``).

prepfloor's own connections say who they are (``-c prepfloor.writer=prepfloor`` in their startup
options, :func:`db.fast.postgres_options`): its rules already lock, check, count and write their
events (with the prepfloor user, and words a person reads), so the triggers leave those writes
alone, and a booking costs no more than before.  That mark is an agreement between well-behaved
clients, not a protection: a client that claims to be prepfloor, or an owner who disables triggers,
writes without them.  The protection is the database role another tool is given (README).

On SQLite prepfloor is the only writer: ``prepfloor doctor`` finds what an outside writer broke and
``prepfloor doctor --repair`` rebuilds it.

Migration 0011 installs them (:func:`install`); a change to this SQL comes with a new migration
that calls :func:`install` again (it replaces the functions and triggers), and ``prepfloor doctor``
says when a trigger is missing or switched off.
"""

from __future__ import annotations

from typing import Any

from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

CHANNEL = "prepfloor_events"
WRITER_SETTING = "prepfloor.writer"
WRITER_MARK = "prepfloor"

# prepfloor's tables whose writes by other clients are audited (every table but the audit itself)
AUDITED = (
    "dealership",
    "users",
    "user_keys",
    "cars",
    "notifications",
    "notification_preferences",
    "resource_types",
    "resource_bookings",
    "resource_capacities",
    "resource_sharing",
    "parts_orders",
    "timebank_entries",
    "inspection_checklist_items",
    "customer_communications",
    "car_documents",
    "car_access",
    "estimates",
    "estimate_lines",
    "outbox_messages",
    "outbox_templates",
    "outbox_settings",
)
# the tables with an ``updated_at`` column: all but these
UNSTAMPED = (
    "user_keys",
    "notifications",
    "inspection_checklist_items",
    "customer_communications",
    "car_documents",
    "car_access",
)
STAMPED = tuple(t for t in AUDITED if t not in UNSTAMPED)
# never copied into an event: secrets and file contents
UNAUDITED_COLUMNS = (
    "pin_hash",
    "password_hash",
    "badge_hash",
    "content",
    "public_key",
)

HOLDING = sql_in(BOOKING_HOLDING_STATUSES)

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION prepfloor_is_app() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('{WRITER_SETTING}', true), '') = '{WRITER_MARK}'
$$;

-- one capacity row (the team's: u NULL; a person's) set to the hours of the bookings that hold it;
-- ``may_refuse``: this change adds hours here, so more than the row's hours is refused
CREATE OR REPLACE FUNCTION prepfloor_sync_capacity(
    p integer, t integer, d date, u uuid, may_refuse boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    cap record;
    held double precision;
BEGIN
    IF u IS NULL THEN
        SELECT id, allocated_hours, used_hours INTO cap FROM resource_capacities
        WHERE dealership_id = p AND resource_type_id = t AND date = d AND user_id IS NULL
        FOR UPDATE;
    ELSE
        SELECT id, allocated_hours, used_hours INTO cap FROM resource_capacities
        WHERE dealership_id = p AND resource_type_id = t AND date = d AND user_id = u
        FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        IF may_refuse THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'prepfloor_capacity',
                MESSAGE = CASE WHEN u IS NULL THEN format(
                    'prepfloor: dealership %s has no capacity of resource type %s on %s; '
                    'set the day''s hours first.', p, t, d)
                ELSE format(
                    'prepfloor: user %s has no hours of resource type %s at dealership %s on %s; '
                    'set their hours first.', u, t, p, d) END;
        END IF;
        RETURN;
    END IF;
    -- a statement of its own: in READ COMMITTED it sees every booking committed while this
    -- transaction waited for the row's lock
    SELECT coalesce(sum(estimated_hours), 0) INTO held FROM resource_bookings
    WHERE provider_dealership_id = p AND resource_type_id = t AND date = d
    AND status IN {HOLDING} AND (u IS NULL OR user_id = u);
    IF abs(held - cap.used_hours) <= 1e-9 THEN
        RETURN;
    END IF;
    IF may_refuse AND held > cap.used_hours AND held > cap.allocated_hours + 1e-9 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'prepfloor_capacity',
            MESSAGE = format(
                'prepfloor: capacity #%s (%s) has %s h; the bookings would hold %s h. '
                'Pick another day or person, or fewer hours.', cap.id, d,
                cap.allocated_hours, held);
    END IF;
    UPDATE resource_capacities SET used_hours = held, updated_at = now() WHERE id = cap.id;
END $$;

-- a booking's rows: the team's, and the person's when it names one
CREATE OR REPLACE FUNCTION prepfloor_sync_booking_rows(
    p integer, t integer, d date, u uuid, may_refuse boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM prepfloor_sync_capacity(p, t, d, NULL, may_refuse);
    IF u IS NOT NULL THEN
        PERFORM prepfloor_sync_capacity(p, t, d, u, may_refuse);
    END IF;
END $$;

-- resource_bookings, after each row written by another client: its rules and its ledger
CREATE OR REPLACE FUNCTION prepfloor_booking_ledger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    old_holds boolean := false;
    new_holds boolean := false;
    car record;
    agreement record;
    week_start date;
    week_used double precision;
    grew double precision;
BEGIN
    IF prepfloor_is_app() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_holds := OLD.status IN {HOLDING};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_holds := NEW.status IN {HOLDING};
    END IF;

    IF new_holds THEN
        -- the rules prepfloor checks before it books (db.ledger, db.holding)
        IF NEW.car_id IS NOT NULL THEN
            SELECT dealership_id INTO car FROM cars WHERE id = NEW.car_id;
            IF FOUND AND car.dealership_id <> NEW.consumer_dealership_id THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    CONSTRAINT = 'prepfloor_consumer', MESSAGE = format(
                    'prepfloor: car #%s belongs to dealership %s, so the booking''s '
                    'consumer_dealership_id must be %s.', NEW.car_id, car.dealership_id,
                    car.dealership_id);
            END IF;
        END IF;
        IF NEW.provider_dealership_id <> NEW.consumer_dealership_id THEN
            SELECT enabled, max_hours_per_week INTO agreement FROM resource_sharing
            WHERE provider_dealership_id = NEW.provider_dealership_id
            AND consumer_dealership_id = NEW.consumer_dealership_id
            AND resource_type_id = NEW.resource_type_id
            FOR UPDATE;
            IF NOT FOUND OR NOT agreement.enabled THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    CONSTRAINT = 'prepfloor_sharing', MESSAGE = format(
                    'prepfloor: dealership %s has no enabled sharing agreement with dealership %s '
                    'for resource type %s; an admin sets one up.', NEW.provider_dealership_id,
                    NEW.consumer_dealership_id, NEW.resource_type_id);
            END IF;
            week_start := date_trunc('week', NEW.date)::date;  -- ISO weeks start on Monday
            SELECT coalesce(sum(estimated_hours), 0) INTO week_used FROM resource_bookings
            WHERE provider_dealership_id = NEW.provider_dealership_id
            AND consumer_dealership_id = NEW.consumer_dealership_id
            AND resource_type_id = NEW.resource_type_id
            AND date BETWEEN week_start AND week_start + 6 AND status IN {HOLDING};
            grew := NEW.estimated_hours;
            IF old_holds AND OLD.provider_dealership_id = NEW.provider_dealership_id
                AND OLD.consumer_dealership_id = NEW.consumer_dealership_id
                AND OLD.resource_type_id = NEW.resource_type_id
                AND date_trunc('week', OLD.date) = date_trunc('week', NEW.date) THEN
                grew := NEW.estimated_hours - OLD.estimated_hours;
            END IF;
            IF grew > 1e-9 AND week_used > agreement.max_hours_per_week + 1e-9 THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    CONSTRAINT = 'prepfloor_sharing', MESSAGE = format(
                    'prepfloor: dealership %s may use %s h a week of resource type %s at '
                    'dealership %s; the week of %s would hold %s h.',
                    NEW.consumer_dealership_id, agreement.max_hours_per_week,
                    NEW.resource_type_id, NEW.provider_dealership_id, week_start, week_used);
            END IF;
        END IF;
        -- the rows it holds now first (a change that adds hours may be refused), ...
        PERFORM prepfloor_sync_booking_rows(NEW.provider_dealership_id, NEW.resource_type_id,
            NEW.date, NEW.user_id, true);
    END IF;
    -- ... then those it held before (they only give hours back)
    IF old_holds THEN
        PERFORM prepfloor_sync_booking_rows(OLD.provider_dealership_id, OLD.resource_type_id,
            OLD.date, OLD.user_id, false);
    END IF;

    -- car_access: the providers of a car's bookings other than its dealership and prep center
    IF TG_OP <> 'DELETE' AND NEW.car_id IS NOT NULL THEN
        INSERT INTO car_access (car_id, dealership_id)
        SELECT c.id, NEW.provider_dealership_id FROM cars c
        WHERE c.id = NEW.car_id AND c.dealership_id <> NEW.provider_dealership_id
        AND (c.prep_center_id IS NULL OR c.prep_center_id <> NEW.provider_dealership_id)
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.car_id IS NOT NULL THEN
        DELETE FROM car_access a
        WHERE a.car_id = OLD.car_id AND a.dealership_id = OLD.provider_dealership_id
        AND NOT EXISTS (SELECT 1 FROM resource_bookings b
            WHERE b.car_id = OLD.car_id AND b.provider_dealership_id = OLD.provider_dealership_id);
    END IF;
    RETURN NULL;
END $$;

-- resource_capacities, before each row written by another client (not by the ledger above):
-- used_hours is what the bookings hold, and the day's hours may not go below it
CREATE OR REPLACE FUNCTION prepfloor_capacity_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF prepfloor_is_app() OR pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(sum(estimated_hours), 0) INTO NEW.used_hours FROM resource_bookings
    WHERE provider_dealership_id = NEW.dealership_id AND resource_type_id = NEW.resource_type_id
    AND date = NEW.date AND status IN {HOLDING}
    AND (NEW.user_id IS NULL OR user_id = NEW.user_id);
    IF NEW.allocated_hours < NEW.used_hours - 1e-9 AND (TG_OP = 'INSERT'
        OR NEW.allocated_hours < OLD.allocated_hours) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'prepfloor_capacity',
            MESSAGE = format(
            'prepfloor: %s h are booked on %s; the hours cannot go below that. Move or cancel '
            'bookings first.', NEW.used_hours, NEW.date);
    END IF;
    RETURN NEW;
END $$;

-- every business table, after each row written by another client: its events row
CREATE OR REPLACE FUNCTION prepfloor_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    o jsonb;
    n jsonb;
    r jsonb;
    changed jsonb;
    car integer;
    app text;
BEGIN
    IF prepfloor_is_app() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        o := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := to_jsonb(NEW);
    END IF;
    r := coalesce(n, o);
    -- a secret or a file is said to have changed, never copied
    SELECT jsonb_object_agg(k, CASE WHEN k = ANY(ARRAY{list(UNAUDITED_COLUMNS)!r}::text[])
        THEN jsonb_build_array(CASE WHEN o -> k IS NULL OR o -> k = 'null' THEN NULL
                                    ELSE '(not shown)' END,
                               CASE WHEN n -> k IS NULL OR n -> k = 'null' THEN NULL
                                    ELSE '(not shown)' END)
        ELSE jsonb_build_array(o -> k, n -> k) END) INTO changed
    FROM jsonb_object_keys(r) AS k
    WHERE k <> 'updated_at' AND (o -> k) IS DISTINCT FROM (n -> k);
    IF TG_OP = 'UPDATE' AND changed IS NULL THEN
        RETURN NULL;  -- nothing but the time stamp
    END IF;
    IF TG_TABLE_NAME = 'cars' THEN
        IF TG_OP <> 'DELETE' THEN
            car := (r ->> 'id')::integer;
        END IF;
    ELSIF r ? 'car_id' THEN
        car := (r ->> 'car_id')::integer;
    END IF;
    app := coalesce(current_setting('application_name', true), '');
    INSERT INTO events (occurred_at, user_id, entity, entity_id, action, changes, car_id, writer)
    VALUES (clock_timestamp(), NULL, TG_TABLE_NAME, left(r ->> 'id', 40),
        CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
        changed, car,
        left(session_user || CASE WHEN app <> '' THEN ' (' || app || ')' ELSE '' END, 120));
    RETURN NULL;
END $$;

-- tables with updated_at, before each update by another client that did not set it
CREATE OR REPLACE FUNCTION prepfloor_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT prepfloor_is_app() AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;

-- events, after each row (whoever wrote it): announced to the listening sessions at commit
CREATE OR REPLACE FUNCTION prepfloor_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.id || ' ' || NEW.entity || ' '
        || coalesce(NEW.car_id::text, '-') || ' ' || NEW.action);
    RETURN NULL;
END $$;
"""


def _triggers(audited: tuple[str, ...], stamped: tuple[str, ...]) -> list[str]:
    statements = [
        "CREATE TRIGGER prepfloor_ledger AFTER INSERT OR UPDATE OR DELETE ON resource_bookings "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_booking_ledger()",
        "CREATE TRIGGER prepfloor_capacity BEFORE INSERT OR UPDATE ON resource_capacities "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_capacity_row()",
        "CREATE TRIGGER prepfloor_announce AFTER INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_announce()",
    ]
    statements += [
        f"CREATE TRIGGER prepfloor_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_audit()"
        for table in audited
    ]
    statements += [
        f"CREATE TRIGGER prepfloor_stamp BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_stamp()"
        for table in stamped
    ]
    return statements


def install(
    connection: Any, audited: tuple[str, ...] = AUDITED, stamped: tuple[str, ...] = STAMPED
) -> None:
    """Create (or re-create) the functions and triggers on a PostgreSQL database.  ``connection``:
    a SQLAlchemy connection in a transaction.  Safe to run again."""
    from sqlalchemy import text

    # the driver reads ``%`` as a placeholder mark in what SQLAlchemy hands it
    connection.exec_driver_sql(FUNCTIONS.replace("%", "%%"))
    # an earlier migration installs them before the later tables exist: those get theirs from
    # the migration that makes them
    present = _present(connection)
    audited = tuple(t for t in audited if t in present)
    stamped = tuple(t for t in stamped if t in present)
    drop(connection, audited, stamped, functions=False)
    for statement in _triggers(audited, stamped):
        connection.execute(text(statement))


def _present(connection: Any) -> set[str]:
    """The tables of the current schema."""
    from sqlalchemy import text

    rows = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    )
    return {r[0] for r in rows}


def drop(
    connection: Any,
    audited: tuple[str, ...] = AUDITED,
    stamped: tuple[str, ...] = STAMPED,
    *,
    functions: bool = True,
) -> None:
    """Remove the triggers (and, with ``functions``, their functions)."""
    from sqlalchemy import text

    names = [
        ("prepfloor_ledger", "resource_bookings"),
        ("prepfloor_capacity", "resource_capacities"),
        ("prepfloor_announce", "events"),
    ]
    present = _present(connection)
    names += [("prepfloor_audit", t) for t in audited if t in present]
    names += [("prepfloor_stamp", t) for t in stamped if t in present]
    for name, table in names:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
    if functions:
        for function in (
            "prepfloor_announce()",
            "prepfloor_stamp()",
            "prepfloor_audit()",
            "prepfloor_capacity_row()",
            "prepfloor_booking_ledger()",
            "prepfloor_sync_booking_rows(integer, integer, date, uuid, boolean)",
            "prepfloor_sync_capacity(integer, integer, date, uuid, boolean)",
            "prepfloor_is_app()",
        ):
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function}"))


def installed(connection: Any) -> set[str]:
    """The prepfloor triggers on the database, as ``name on table`` (for ``doctor``)."""
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT t.tgname || ' on ' || c.relname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'prepfloor_%' "
            # the kept totals' own (db.totals) are checked there
            "AND t.tgname NOT LIKE 'prepfloor_totals%' "
            "AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
    )
    return {r[0] for r in rows}


def missing(connection: Any) -> set[str]:
    """The triggers :func:`install` makes that are missing or switched off."""
    return expected() - installed(connection)


def expected(audited: tuple[str, ...] = AUDITED, stamped: tuple[str, ...] = STAMPED) -> set[str]:
    """The triggers :func:`install` creates, as :func:`installed` names them."""
    found = {
        "prepfloor_ledger on resource_bookings",
        "prepfloor_capacity on resource_capacities",
        "prepfloor_announce on events",
    }
    found |= {f"prepfloor_audit on {t}" for t in audited}
    found |= {f"prepfloor_stamp on {t}" for t in stamped}
    return found
