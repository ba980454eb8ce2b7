"""Admin mode by keys: a new dealership, and the refusals beside their fields (a duplicate number,
a sales-only dealership without a prep center, a cycle in the hierarchy) that save nothing."""

from __future__ import annotations

from typing import Any

from test_app import SIZE, settle

from db.models import Dealership
from prepfloor.app import make_app
from screens.admin import DealershipsScreen
from screens.forms import FormDialog
from world import rows


def message(app: Any, field: str) -> str:
    return str(app.screen.query_one(f"#msg-{field}").render())


async def open_admin(app: Any, pilot: Any) -> DealershipsScreen:
    await settle(pilot, app)
    await pilot.press("f7")
    await settle(pilot, app)
    assert isinstance(app.screen, DealershipsScreen)
    return app.screen


async def test_a_new_dealership_by_keys(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("n")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"501", "tab", *"Tønsberg", "tab", *"Tønsberg sentrum", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
        assert "501" in [r.number for r in app.screen.table.rows]
    (new,) = rows(ui_world, Dealership, dealership_number="501")
    assert (new["dealership_name"], new["dealership_type"], new["does_own_prep"]) == (
        "Tønsberg",
        "sales_and_prep",
        True,
    )


async def test_a_duplicate_number_is_refused_beside_the_field(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    before = len(rows(ui_world, Dealership))
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press(*"499", "tab", *"Porsgrunn again", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert "499" in message(app, "dealership_number")
    assert len(rows(ui_world, Dealership)) == before


async def test_sales_only_without_a_prep_center_is_refused(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press(*"502", "tab", *"Sandefjord", "tab", "tab")  # on the type
        await pilot.press("enter", "up", "up", "enter")  # Sales only
        await settle(pilot, app)
        assert app.screen.query_one("#does_own_prep").value == "no"  # followed the type
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert message(app, "prep_center_id") != ""
    assert rows(ui_world, Dealership, dealership_number="502") == []


async def test_a_cycle_in_the_hierarchy_is_refused(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    app = make_app(ui_store, actor=w["admin"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        numbers = [r.number for r in screen.table.rows]
        screen.table.cursor = numbers.index("400")  # Vest HQ, the parent of 495
        await pilot.press("enter")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        # "Part of": 495, its own branch (by keys: open the list, down to 495, pick)
        dialog.query_one("#parent_dealership_id").focus()
        await pilot.press("enter", "down", "enter")
        await settle(pilot, app)
        assert dialog.query_one("#parent_dealership_id").value == str(w.d["495"])
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert message(app, "parent_dealership_id") != ""
    (hq,) = rows(w, Dealership, dealership_number="400")
    assert hq["parent_dealership_id"] is None


async def test_resource_types_a_new_one_and_a_duplicate_code(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from db.models import ResourceType
    from screens.admin import ResourceTypesScreen

    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("r")
        await settle(pilot, app)
        assert isinstance(app.screen, ResourceTypesScreen)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press(*"WASH", "tab", *"Another wash", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert "WASH" in message(app, "code") or message(app, "code") != ""
        app.screen.query_one("#code").value = "POLISH"
        app.screen.query_one("#color").focus()
        await pilot.press(*"shiny", "ctrl+s")  # not a color
        await settle(pilot, app)
        assert "'shiny' is not a color" in message(app, "color")
        assert rows(ui_world, ResourceType, code="POLISH") == []
        app.screen.query_one("#color").value = ""
        await pilot.press(*"#FFB300", "shift+tab", *"✨", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, ResourceTypesScreen)
    (polish,) = rows(ui_world, ResourceType, code="POLISH")
    assert polish["name"] == "Another wash" and polish["bookable"] is True
    assert (polish["icon"], polish["color"]) == ("✨", "#ffb300")


async def test_a_sharing_agreement_with_a_bad_priority_is_refused(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from db.models import ResourceSharing
    from screens.admin import AgreementsScreen

    before = rows(ui_world, ResourceSharing)
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, AgreementsScreen)
        assert len(app.screen.table.rows) == len(before)
        await pilot.press("enter")  # the first agreement
        await settle(pilot, app)
        app.screen.query_one("#priority").value = "150"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert message(app, "priority") != ""
    assert rows(ui_world, ResourceSharing) == before


async def test_users_added_deactivated_and_a_pin_set(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from db.models import User
    from screens.admin import UsersScreen

    w = ui_world
    app = make_app(ui_store, actor=w["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("u")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, UsersScreen)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press("tab", *"Nina Ny", "ctrl+s")  # the login is missing
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog) and message(app, "login") != ""
        app.screen.query_one("#login").value = "nina"
        app.screen.query_one("#dealership_id").value = str(w.d["495"])
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, UsersScreen)
        logins = [r.login for r in screen.table.rows]
        screen.table.cursor = logins.index("seller495")
        await pilot.press("enter")
        await settle(pilot, app)
        app.screen.query_one("#active").value = "no"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        screen.table.cursor = [r.login for r in screen.table.rows].index("mechanic499")
        await pilot.press("p")
        await settle(pilot, app)
        await pilot.press(*"2468", "enter")
        await settle(pilot, app)
        screen.table.cursor = [r.login for r in screen.table.rows].index("admin")
        await pilot.press("enter")  # an admin cannot deactivate themselves
        await settle(pilot, app)
        app.screen.query_one("#active").value = "no"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog) and message(app, "active") != ""
    (nina,) = rows(w, User, login="nina")
    assert (nina["display_name"], nina["role"], nina["dealership_id"]) == (
        "Nina Ny",
        "seller",
        w.d["495"],
    )
    assert rows(w, User, login="seller495")[0]["active"] is False
    assert rows(w, User, login="mechanic499")[0]["pin_hash"] is not None
    assert rows(w, User, login="admin")[0]["active"] is True


async def test_lowering_a_cap_below_this_weeks_bookings_warns_with_them_first(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    from db.models import ResourceSharing
    from screens.admin import AgreementsScreen
    from world import book

    w = ui_world
    car = w.register(seller="seller495", license_plate="EL 77777")
    book(w, 0, 6, car_id=car, login="coordinator495")
    (agreement,) = rows(w, ResourceSharing, consumer_dealership_id=w.d["495"])
    app = make_app(ui_store, actor=w["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, AgreementsScreen)
        screen.table.cursor = [r.id for r in screen.table.rows].index(agreement["id"])
        await pilot.press("enter")
        await settle(pilot, app)
        app.screen.query_one("#max_hours_per_week").value = "4"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        warning = message(app, "max_hours_per_week")
        assert "6 h are already booked" in warning and "EL 77777" in warning
        assert rows(w, ResourceSharing, id=agreement["id"])[0]["max_hours_per_week"] == 40
        await pilot.press("ctrl+s")  # seen: the same cap again lowers it
        await settle(pilot, app)
        assert isinstance(app.screen, AgreementsScreen)
    assert rows(w, ResourceSharing, id=agreement["id"])[0]["max_hours_per_week"] == 4


async def test_sla_targets_by_keys_with_their_refusals(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot)
        assert screen.table.current.number == "400"
        await pilot.press("t")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"abc", "tab", "0", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert "number" in message(app, "registered")
        assert "more than 0" in message(app, "in_transit")
        (hq,) = rows(ui_world, Dealership, dealership_number="400")
        assert hq["sla_targets"] is None  # nothing saved
        await pilot.press(*"4", "tab", *"10,5", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
    (hq,) = rows(ui_world, Dealership, dealership_number="400")
    assert hq["sla_targets"] == {"registered": 4.0, "in_transit": 10.5}


async def test_brand_colors_and_logo_by_keys(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("enter")  # 400 Vest HQ
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormDialog)
        form.query_one("#brand_colors").focus()
        await pilot.press(*"blue", "tab", *"VEST", "ctrl+s")
        await settle(pilot, app)
        assert "'blue' is not a color" in message(app, "brand_colors")
        assert rows(ui_world, Dealership, dealership_number="400")[0]["brand_colors"] is None
        await pilot.press(*"#1C69D4 #0a2240", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
    (hq,) = rows(ui_world, Dealership, dealership_number="400")
    assert hq["brand_colors"] == {"primary": "#1c69d4", "accent": "#0a2240"}
    assert hq["logo"] == "VEST"


async def test_the_type_sets_own_prep_and_asks_a_sales_only_one_for_its_prep_center(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    app = make_app(ui_store, actor=w["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(app, pilot)
        await pilot.press("n")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormDialog)
        own_prep = form.query_one("#does_own_prep")
        assert own_prep.value == "yes" and message(app, "prep_center_id") == ""
        form.query_one("#dealership_type").focus()
        await pilot.press("enter", "up", "up", "enter")  # Sales only
        await settle(pilot, app)
        assert own_prep.value == "no"
        assert "Expected" in message(app, "prep_center_id")
        await pilot.press("enter", "down", "enter")  # Prep center only
        await settle(pilot, app)
        assert own_prep.value == "yes" and message(app, "prep_center_id") == ""
        await pilot.press("enter", "up", "enter")  # Sales only again
        await settle(pilot, app)
        assert own_prep.value == "no" and "Expected" in message(app, "prep_center_id")
        form.query_one("#prep_center_id").value = str(w.d["499"])
        await settle(pilot, app)
        assert message(app, "prep_center_id") == ""  # answered
        form.query_one("#dealership_number").value = "503"
        form.query_one("#dealership_name").value = "Skien Sør"
        await pilot.press("ctrl+s")  # nothing else to change: it saves
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
        await pilot.press("end", "enter")  # editing keeps what was saved
        await settle(pilot, app)
    (new,) = rows(w, Dealership, dealership_number="503")
    assert (new["dealership_type"], new["does_own_prep"], new["prep_center_id"]) == (
        "sales_only",
        False,
        w.d["499"],
    )


async def test_the_admin_lists_and_forms_fit_80x24(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    """Each list keeps its important columns (the others say ``+2 »``); each form is on screen,
    its last field reachable."""
    from screens.admin import AgreementsScreen, ResourceTypesScreen, UsersScreen

    def titles_of(screen: Any) -> str:
        return str(screen.query_one("TableHeader").render())

    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_admin(app, pilot)
        expected = {
            DealershipsScreen: ["Number", "Name", "Type", "Prep center", "Active"],
            ResourceTypesScreen: ["Code", "Name", "Default h", "Person", "Bookable", "Active"],
            AgreementsScreen: ["Done at", "For", "Work", "h/week", "Priority", "Enabled"],
            UsersScreen: ["Login", "Name", "Role", "Dealership", "PIN", "Active"],
        }
        for key, kind in (
            ("", DealershipsScreen),
            ("r", ResourceTypesScreen),
            ("a", AgreementsScreen),
            ("u", UsersScreen),
        ):
            if key:
                await pilot.press(key)
                await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, kind)
            line = titles_of(screen)
            assert len(line.rstrip()) <= screen.query_one("TableHeader").content_size.width, line
            for title in expected[kind]:
                assert title in line, (kind.__name__, title, line)
            for code in ("TECH_PREP", "COSMETIC") if kind is ResourceTypesScreen else ():
                assert any(r.code == code for r in screen.table.rows)
            await pilot.press("enter" if kind is not DealershipsScreen else "n")
            await settle(pilot, app)
            form = app.screen
            assert isinstance(form, FormDialog)
            box = form.children[0].region
            assert box.right <= 80 and box.bottom <= 24, box
            last = form.fields[-1].name
            form.query_one(f"#{last}").focus()
            await settle(pilot, app)
            assert form.query_one(f"#{last}").region.bottom <= 24  # scrolled into view
            await pilot.press("escape")
            await settle(pilot, app)
            if app.screen is not screen:
                await pilot.press("escape")  # a question about dropping what was typed
                await settle(pilot, app)
            assert app.screen is screen
            if kind is not DealershipsScreen:
                await pilot.press("escape")
                await settle(pilot, app)
