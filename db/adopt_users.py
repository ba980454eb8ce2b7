"""On an adopted Directus database, ``users`` is a copy of ``directus_users`` kept by the database.

Directus keeps the staff; prepfloor keeps what only prepfloor needs.  Each Directus user has one
``users`` row with the same UUID: its name (first and last name, else the e-mail), e-mail, whether
it may sign in (Directus status ``active`` and a Directus role that is mapped to a prepfloor role),
its role (through ``prepfloor_role_map``: Directus role name -> prepfloor role), its login (from a
field of ``directus_users`` given at adoption, else the e-mail before the @, made unique) and, when a
field was given, its dealership.  Everything else of the row (PIN, password, badge, lock-out,
language, start screen, shared-terminal flag) and every prepfloor table keyed by the user (SSH
keys, preferences, time entries, events) is prepfloor's alone and never touched by the copy.

Triggers keep it in step, in the transaction of the Directus write: a user created or changed in
Directus is copied; one deleted or suspended there becomes inactive here, never deleted, so history
keeps its name; a renamed Directus role or a changed role map is followed.  The copy is the only
writer of the copied columns: prepfloor (or anyone) changing them directly is refused with words that
say to change them in Directus, and a user created in prepfloor is refused too (the seed's tables
point their user fields at ``directus_users``).  Without ``--login-field`` the login is set once,
when the user is first copied, and is prepfloor's afterwards.

The copying functions run as their owner (``SECURITY DEFINER``, the role that adopted the database,
with a fixed ``search_path``), so Directus's database role needs no rights on prepfloor's tables.

Before adopting, :func:`check_directus`, :func:`check_users_table` and :func:`check_roles` say
whether the copy can be made: Directus's user tables and the fields the options name are there,
the name ``users`` is free, and which prepfloor role each Directus role's users get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.adopt_schema import ROLE_MAP_TABLE, DbTable, Found, quoted, stored_roles
from db.i18n import _, ngettext
from db.vocab import ROLES, sql_in

if TYPE_CHECKING:
    from db.adopt_check import Options, Report

MIRROR_SETTING = "prepfloor.mirror"  # set while the copy writes users (the guard lets it through)
UNMAPPED_ROLE = "seller"  # the role of a user whose Directus role is not mapped (they are inactive)
# the triggers this module makes, as db.triggers.installed() names them
TRIGGERS = (
    "prepfloor_mirror on directus_users",
    "prepfloor_mirror_keep on directus_users",
    "prepfloor_mirror_update on directus_users",
    "prepfloor_mirror_role on directus_roles",
    "prepfloor_mirror_map on prepfloor_role_map",
    "prepfloor_users_guard on users",
)

DIRECTUS_COLUMNS = {
    "directus_users": ("id", "first_name", "last_name", "email", "status", "role"),
    "directus_roles": ("id", "name"),
}
# A Directus role whose name is one of these is mapped without a --role option.
AUTO_ROLES = {**{role: role for role in ROLES}, "administrator": "admin"}


def _clean(expression: str, most: int) -> str:
    """SQL: ``expression`` as one clean line of at most ``most`` characters, NULL when empty
    (:func:`db.text.clean`'s rule: breaks and tabs become spaces, other control characters, the
    bidi overrides and the line separators go)."""
    return (
        "nullif(left(btrim(regexp_replace(regexp_replace("
        + expression
        + r", E'[\\t\\n\\r]+', ' ', "
        r"'g'), E'[\\x01-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\u2028\\u2029]',"
        f" '', 'g')), {most}), '')"
    )


def functions_sql(schema: str, login_field: str | None, dealership_field: str | None) -> str:
    """The functions that copy ``directus_users`` into ``users`` and guard the copy."""
    path = f"{quoted(schema)}, pg_temp"
    login_value = f"u.{quoted(login_field)}::text" if login_field else "NULL::text"
    dealer_value = f"u.{quoted(dealership_field)}" if dealership_field else "NULL::integer"
    wanted_login = (
        "coalesce(nullif(btrim(d.login_value), ''), split_part(d.email, '@', 1))"
        if login_field
        else "split_part(d.email, '@', 1)"
    )
    copied = ["display_name", "email", "role", "active"]
    if dealership_field:
        copied.append("dealership_id")
    if login_field:
        copied.append("login")
    new_values = ", ".join(f"NEW.{c}" for c in ("id", *copied))
    old_values = ", ".join(f"OLD.{c}" for c in ("id", *copied))
    update_login = f", login = prepfloor_login_for(uid, {wanted_login})" if login_field else ""
    update_dealer = ", dealership_id = dealer" if dealership_field else ""
    changed_login = (
        f" OR login IS DISTINCT FROM prepfloor_login_for(uid, {wanted_login})"
        if login_field
        else ""
    )
    changed_dealer = " OR dealership_id IS DISTINCT FROM dealer" if dealership_field else ""
    return f"""
CREATE OR REPLACE FUNCTION prepfloor_login_for(uid uuid, wanted text) RETURNS text
LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    base text;
    candidate text;
    n integer := 1;
BEGIN
    base := left(regexp_replace(lower(coalesce(wanted, '')), '[^[:alnum:]._-]', '', 'g'), 60);
    IF base = '' THEN
        base := 'user' || left(replace(uid::text, '-', ''), 8);
    END IF;
    candidate := base;
    WHILE EXISTS (SELECT 1 FROM users WHERE lower(login) = candidate AND id <> uid) LOOP
        n := n + 1;
        candidate := base || n;
    END LOOP;
    RETURN candidate;
END $$;

-- one Directus user copied into users (gone from Directus: inactive)
CREATE OR REPLACE FUNCTION prepfloor_mirror_user(uid uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
DECLARE
    d record;
    gone boolean;
    mapped text;
    shown text;
    mail text;
    may boolean;
    dealer integer;
BEGIN
    SELECT u.first_name, u.last_name, u.email, u.status, u.role,
           {login_value} AS login_value, {dealer_value} AS dealer_value
    INTO d FROM directus_users u WHERE u.id = uid;
    gone := NOT FOUND;
    PERFORM set_config('{MIRROR_SETTING}', 'on', true);
    IF gone THEN
        UPDATE users SET active = false WHERE id = uid AND active;
    ELSE
        SELECT m.role INTO mapped FROM directus_roles r
        JOIN {ROLE_MAP_TABLE} m ON m.directus_role = r.name WHERE r.id = d.role;
        mail := {_clean("d.email", 254)};
        shown := coalesce({_clean("concat_ws(' ', d.first_name, d.last_name)", 120)},
                          left(mail, 120), 'User ' || left(uid::text, 8));
        may := d.status = 'active' AND mapped IS NOT NULL;
        dealer := (SELECT id FROM dealership WHERE id = d.dealer_value);
        IF EXISTS (SELECT 1 FROM users WHERE id = uid) THEN
            UPDATE users SET display_name = shown, email = mail, role = coalesce(mapped, role),
                active = may{update_dealer}{update_login}
            WHERE id = uid AND (display_name IS DISTINCT FROM shown
                OR email IS DISTINCT FROM mail OR role IS DISTINCT FROM coalesce(mapped, role)
                OR active IS DISTINCT FROM may{changed_dealer}{changed_login});
        ELSE
            INSERT INTO users (id, login, display_name, email, role, dealership_id, active,
                               failed_pin_attempts, is_terminal, created_at, updated_at)
            VALUES (uid, prepfloor_login_for(uid, {wanted_login}), shown, mail,
                    coalesce(mapped, '{UNMAPPED_ROLE}'), dealer, may, 0, false, now(), now());
        END IF;
    END IF;
    PERFORM set_config('{MIRROR_SETTING}', '', true);
END $$;

-- every Directus user, and every copy whose Directus user is gone
CREATE OR REPLACE FUNCTION prepfloor_mirror_all() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
BEGIN
    PERFORM prepfloor_mirror_user(id) FROM (
        SELECT id FROM directus_users
        UNION SELECT id FROM users WHERE active
            AND NOT EXISTS (SELECT 1 FROM directus_users d WHERE d.id = users.id)
        ORDER BY id) AS everyone;
END $$;

CREATE OR REPLACE FUNCTION prepfloor_mirror_directus_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM prepfloor_mirror_user(OLD.id);
        RETURN NULL;
    END IF;
    PERFORM prepfloor_mirror_user(NEW.id);
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        PERFORM prepfloor_mirror_user(OLD.id);
    END IF;
    RETURN NULL;
END $$;

-- directus_users, before a delete: Directus's relations would empty the user field of prepfloor's
-- notifications (required) and turn a person's capacity rows into team rows
CREATE OR REPLACE FUNCTION prepfloor_mirror_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM notifications WHERE user_id = OLD.id)
        OR EXISTS (SELECT 1 FROM resource_capacities WHERE user_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', CONSTRAINT = 'prepfloor_directus_users',
            MESSAGE = format('prepfloor: %s has notifications or hours in prepfloor, which keep '
                'whose they are: suspend the user (Status: Suspended) instead of deleting it.',
                coalesce(nullif(concat_ws(' ', OLD.first_name, OLD.last_name), ''), OLD.email,
                         OLD.id::text));
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION prepfloor_mirror_directus_role() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
BEGIN
    PERFORM prepfloor_mirror_user(u.id) FROM directus_users u WHERE u.role = NEW.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION prepfloor_mirror_role_map() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
BEGIN
    PERFORM prepfloor_mirror_all();
    RETURN NULL;
END $$;

-- users, before each write: the copied columns are Directus's
CREATE OR REPLACE FUNCTION prepfloor_users_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('{MIRROR_SETTING}', true), '') = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'prepfloor_directus_users',
            MESSAGE = 'prepfloor: on this database the staff are kept in Directus: add the user '
                'there (User Directory); prepfloor copies them.';
    END IF;
    IF ({new_values}) IS DISTINCT FROM ({old_values}) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'prepfloor_directus_users',
            MESSAGE = 'prepfloor: a user''s {", ".join(copied)} are kept in Directus: change them '
                'there (User Directory, or the role map of prepfloor db adopt --role).';
    END IF;
    RETURN NEW;
END $$;
"""


def install(
    connection: Connection, schema: str, login_field: str | None, dealership_field: str | None
) -> None:
    """Create (or re-create) the copying functions and their triggers; safe to run again.  Copies
    no rows (:func:`copy_all` does)."""
    columns = ["id", "first_name", "last_name", "email", "status", "role"]
    columns += [c for c in (login_field, dealership_field) if c]
    connection.exec_driver_sql(
        functions_sql(schema, login_field, dealership_field).replace("%", "%%")
    )
    statements = [
        "DROP TRIGGER IF EXISTS prepfloor_mirror ON directus_users",
        "DROP TRIGGER IF EXISTS prepfloor_mirror_update ON directus_users",
        "DROP TRIGGER IF EXISTS prepfloor_mirror_role ON directus_roles",
        f"DROP TRIGGER IF EXISTS prepfloor_mirror_map ON {ROLE_MAP_TABLE}",
        "DROP TRIGGER IF EXISTS prepfloor_users_guard ON users",
        "DROP TRIGGER IF EXISTS prepfloor_mirror_keep ON directus_users",
        "CREATE TRIGGER prepfloor_mirror_keep BEFORE DELETE ON directus_users "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_mirror_keep()",
        "CREATE TRIGGER prepfloor_mirror AFTER INSERT OR DELETE ON directus_users "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_mirror_directus_user()",
        # only when a copied column is written: Directus writes last_access at every sign-in
        "CREATE TRIGGER prepfloor_mirror_update AFTER UPDATE OF "
        + ", ".join(quoted(c) for c in dict.fromkeys(columns))
        + " ON directus_users FOR EACH ROW EXECUTE FUNCTION prepfloor_mirror_directus_user()",
        "CREATE TRIGGER prepfloor_mirror_role AFTER UPDATE OF name ON directus_roles "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_mirror_directus_role()",
        f"CREATE TRIGGER prepfloor_mirror_map AFTER INSERT OR UPDATE OR DELETE ON {ROLE_MAP_TABLE}"
        " FOR EACH STATEMENT EXECUTE FUNCTION prepfloor_mirror_role_map()",
        "CREATE TRIGGER prepfloor_users_guard BEFORE INSERT OR UPDATE ON users "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_users_guard()",
    ]
    for statement in statements:
        connection.execute(text(statement))


def role_map_sql() -> str:
    """The table of the role map (one row per Directus role name)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {ROLE_MAP_TABLE} ("
        "directus_role varchar(100) NOT NULL, "
        "role varchar(20) NOT NULL, "
        f"CONSTRAINT pk_{ROLE_MAP_TABLE} PRIMARY KEY (directus_role), "
        f"CONSTRAINT ck_{ROLE_MAP_TABLE}_role CHECK (role IN {sql_in(ROLES)}))"
    )


def store_roles(connection: Connection, roles: dict[str, str]) -> None:
    """Keep ``roles`` (Directus role name -> prepfloor role) in the role map; other rows stay.  Its
    trigger copies every user again."""
    for name, role in sorted(roles.items()):
        connection.execute(
            text(
                f"INSERT INTO {ROLE_MAP_TABLE} (directus_role, role) VALUES (:name, :role) "
                "ON CONFLICT (directus_role) DO UPDATE SET role = EXCLUDED.role "
                f"WHERE {ROLE_MAP_TABLE}.role IS DISTINCT FROM EXCLUDED.role"
            ),
            {"name": name, "role": role},
        )


def copy_all(connection: Connection) -> None:
    """Copy every Directus user into ``users`` now."""
    connection.execute(text("SELECT prepfloor_mirror_all()"))


# ------------------------------------------------------------------------------------------------
# before adopting: can the copy be made?
# ------------------------------------------------------------------------------------------------
def check_directus(found: Found, options: Options, report: Report) -> bool:
    """Directus's user tables are there with the columns prepfloor copies."""
    ok = True
    for table, columns in DIRECTUS_COLUMNS.items():
        existing = found.tables.get(table)
        if existing is None:
            report.add(
                "block",
                table,
                _(
                    "missing: this is not a Directus database (or Directus keeps its tables in "
                    "another schema: point --db at that schema). For a new, empty database just "
                    "start prepfloor."
                ),
            )
            ok = False
            continue
        for column in columns:
            if column not in existing.columns:
                report.add(
                    "block",
                    f"{table}.{column}",
                    _(
                        "missing: prepfloor reads it to copy the staff. Is this Directus 10 or later?"
                    ),
                )
                ok = False
    if not ok:
        return False
    users = found.tables["directus_users"]
    for option, column in (
        ("--login-field", options.login_field),
        ("--dealership-field", options.dealership_field),
    ):
        if column is None:
            continue
        existing_column = users.columns.get(column)
        if existing_column is None:
            report.add(
                "block",
                f"directus_users.{column}",
                _("{option}: directus_users has no field {field}.").format(
                    option=option, field=column
                ),
            )
            ok = False
        elif option == "--dealership-field" and existing_column.type not in ("integer", "bigint"):
            report.add(
                "block",
                f"directus_users.{column}",
                _(
                    "{option}: the field is {found}; it must hold a dealership's id (a "
                    "Many-to-One relation to dealership)."
                ).format(option=option, found=existing_column.type),
            )
            ok = False
    return ok


def check_users_table(
    connection: Connection, existing: DbTable | None, options: Options, report: Report
) -> None:
    """Before the first adoption: the name ``users`` is free for prepfloor's copy."""
    if existing is not None:
        report.add(
            "block",
            "users",
            _(
                "a table users is there already and it is not prepfloor's: prepfloor keeps its "
                "copy of the staff under that name. Rename that collection in Directus."
            ),
        )
        return
    total, active = connection.execute(
        text("SELECT count(*), count(*) FILTER (WHERE status = 'active') FROM directus_users")
    ).one()
    source = options.login_field or _("the e-mail address before the @")
    report.add(
        "add",
        "users",
        _(
            "prepfloor's staff table: will be added, a copy of directus_users ({users}, "
            "{active} active in Directus) kept in step by a trigger; login from {source}."
        ).format(users=_users(total), active=active, source=source),
    )


def _users(count: int) -> str:
    return ngettext("{n} user", "{n} users", count).format(n=count)


def check_roles(
    connection: Connection, options: Options, report: Report, *, quiet: bool = False
) -> None:
    """Each Directus role and the prepfloor role its users get (``quiet``: on an adopted
    database, only what is new or not mapped)."""
    stored = stored_roles(connection)
    roles = connection.execute(
        text(
            "SELECT r.name, count(u.id), count(u.id) FILTER (WHERE u.status = 'active') "
            "FROM directus_roles r LEFT JOIN directus_users u ON u.role = r.id "
            "GROUP BY r.name ORDER BY r.name"
        )
    ).all()
    names = {str(r[0]) for r in roles}
    for given in options.roles:
        if given not in names:
            report.add(
                "block",
                "roles",
                _("--role: there is no Directus role {name} (there are: {names}).").format(
                    name=repr(given), names=", ".join(sorted(repr(n) for n in names))
                ),
            )
    mapping: dict[str, str] = dict(stored)
    admins = 0
    for role_name, users, active in roles:
        role_name = str(role_name)
        if role_name in options.roles:
            mapped, how = options.roles[role_name], _("given with --role")
        elif role_name in stored:
            mapped, how = stored[role_name], _("kept from the adoption")
        elif role_name.strip().lower() in AUTO_ROLES:
            mapped, how = AUTO_ROLES[role_name.strip().lower()], _("same name")
        else:
            mapped, how = "", ""
        if mapped:
            mapping[role_name] = mapped
            admins += active if mapped == "admin" else 0
            if not quiet or role_name not in stored or role_name in options.roles:
                report.add(
                    "ok",
                    "roles",
                    _("Directus role {name} ({users}) → prepfloor {role} ({how}).").format(
                        name=repr(role_name), users=_users(users), role=mapped, how=how
                    ),
                )
        elif users:
            report.add(
                "note",
                "roles",
                _(
                    "Directus role {name} ({users}) is not mapped: its users are copied as "
                    "inactive. Map it with --role {example}."
                ).format(
                    name=repr(role_name),
                    users=_users(users),
                    example=repr(f"{role_name}=mechanic"),
                ),
            )
    report.plan.roles = mapping
    if not admins and not quiet:
        report.add(
            "note",
            "roles",
            _(
                "No active Directus user becomes a prepfloor admin: map the role of whoever "
                "configures prepfloor to admin (--role 'NAME=admin')."
            ),
        )


def missing_triggers(connection: Connection) -> set[str]:
    """The copy's triggers that are missing or switched off on an adopted database (for
    ``prepfloor db adopt --check``; adopting again makes them)."""
    from db import triggers

    return set(TRIGGERS) - triggers.installed(connection)
