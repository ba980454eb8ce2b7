"""Each role opens on its work, a user may choose their own start screen, the footer always keeps
sign out, help and the inbox, the help puts a screen's own keys first, and a shared workshop
terminal lists only its own people and signs a person out with ctrl+q.

Rules on both engines; screens by Pilot on SQLite.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_app import settle, text_of
from typer.testing import CliRunner

from db import users
from db.clock import local_today
from db.errors import Invalid, LoginRefused, NotAllowed
from db.modes import start_mode
from prepfloor.app import make_app
from prepfloor.launch import identify
from screens.admin import DealershipsScreen
from screens.capacity import CapacityGridView, CapacityScreen
from screens.cars import CarListScreen
from screens.dashboard import DashboardScreen
from screens.help import HelpScreen
from screens.login import LoginScreen
from screens.modes import empty_car_list
from screens.seller import MyCarsScreen
from screens.widgets import AppFooter
from screens.workshop import MyJobsScreen

NARROW = (80, 24)
WIDE = (120, 40)
PINNED = " f9 Sign out  f1 Help  f8 Inbox "


def footer(app: Any) -> str:
    return str(app.screen.query_one(AppFooter).render().plain)


def stored_start(world: Any, login: str) -> str | None:
    return world.db.query(lambda s: users.by_login(s, login).start_mode)


async def wait_for_users(app: Any, pilot: Any) -> LoginScreen:
    for _ in range(100):  # the list is read in a worker after the first frame
        await pilot.pause(0.02)
        if isinstance(app.screen, LoginScreen) and app.screen.users:
            break
    assert isinstance(app.screen, LoginScreen)
    return app.screen


# ------------------------------------------------------------------------------------------------
# the rule: a start screen is one of the user's modes (both engines)
# ------------------------------------------------------------------------------------------------
def test_a_start_screen_is_one_of_the_users_modes(world: Any, store: Any) -> None:
    kari = world["seller495"]
    world.db.run(users.set_start_mode, kari, kari.user_id, "cars")
    assert stored_start(world, "seller495") == "cars"
    assert store.fast.start_row(kari.user_id) == ("cars", True)
    with pytest.raises(Invalid) as refused:
        world.db.run(users.set_start_mode, kari, kari.user_id, "coordinator")
    assert str(refused.value) == (
        "Coordinator is not one of Kari Selger's screens (a seller has: cars, seller)."
    )
    with pytest.raises(Invalid, match="There is no screen 'garage'"):
        world.db.run(users.set_start_mode, kari, kari.user_id, "garage")
    assert stored_start(world, "seller495") == "cars"  # a refusal changes nothing
    # the role's own start screen is kept as none: it follows the role if the role changes
    world.db.run(users.set_start_mode, kari, kari.user_id, "seller")
    assert stored_start(world, "seller495") is None
    # someone else's: an admin (or the command line) only
    ola = world["coordinator499"]
    with pytest.raises(NotAllowed):
        world.db.run(users.set_start_mode, ola, kari.user_id, "cars")
    world.db.run(users.set_start_mode, world["admin"], ola.user_id, "workshop")
    assert store.fast.start_row(ola.user_id).start_mode == "workshop"


def test_which_screen_a_role_opens_on() -> None:
    assert start_mode("seller", None) == "seller"
    assert start_mode("coordinator", None) == "coordinator"
    assert start_mode("mechanic", None) == "workshop"
    assert start_mode("detailer", None) == "workshop"
    assert start_mode("manager", None) == "manager"
    assert start_mode("admin", None) == "cars"
    assert start_mode("admin", "manager") == "manager"
    assert start_mode("admin", "manager", has_dealerships=False) == "admin"  # set up first
    assert start_mode("seller", "coordinator") == "seller"  # a choice of an old role is ignored


def test_the_command_line_sets_a_start_screen_and_refuses_a_wrong_one(
    world: Any, store: Any
) -> None:
    from prepfloor.cli import app as cli

    runner = CliRunner()
    done = runner.invoke(cli, ["users", "set-start", "coordinator499", "cars", "--db", store.url])
    assert done.exit_code == 0, done.output
    assert "coordinator499 opens on Cars (chosen) at sign-in." in done.stdout
    assert stored_start(world, "coordinator499") == "cars"
    refused = runner.invoke(cli, ["users", "set-start", "seller495", "admin", "--db", store.url])
    assert refused.exit_code == 1
    assert "Admin is not one of Kari Selger's screens" in refused.output
    cleared = runner.invoke(
        cli, ["users", "set-start", "coordinator499", "--clear", "--db", store.url]
    )
    assert cleared.exit_code == 0, cleared.output
    assert "opens on Coordinator (the role's own)" in cleared.stdout
    assert stored_start(world, "coordinator499") is None


# ------------------------------------------------------------------------------------------------
# each role opens on its work
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("login", "screen", "mode"),
    [
        ("seller495", MyCarsScreen, "seller"),
        ("manager499", DashboardScreen, "manager"),
        ("admin", CarListScreen, "cars"),
        ("mechanic499", MyJobsScreen, "workshop"),
        ("detailer499", MyJobsScreen, "workshop"),
    ],
)
async def test_each_role_opens_on_its_work(
    ui_store: Any, ui_world: Any, login: str, screen: type, mode: str
) -> None:
    app = make_app(ui_store, actor=ui_world[login])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        assert app.current_mode == mode
        assert isinstance(app.screen, screen)
        assert footer(app).startswith(PINNED)


async def test_a_coordinator_opens_on_the_grid_at_today(ui_store: Any, coord_world: Any) -> None:
    app = make_app(ui_store, actor=coord_world["coordinator499"])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        view = app.screen.query_one(CapacityGridView)
        assert view.days[view.col] == local_today()


async def test_an_admin_of_a_new_database_opens_on_admin_told_what_to_set_up(
    ui_store: Any,
) -> None:
    ui_store.run(
        users.create_user, None, login="astrid", display_name="Astrid", role="admin",
        dealership_id=None,
    )  # fmt: skip
    astrid = ui_store.fast.actor("astrid")
    app = make_app(ui_store, actor=astrid)
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
        said = [n.message for n in app._notifications]
        assert any("First the dealerships (n adds one)" in m for m in said), said
    assert empty_car_list(astrid) == (
        "No cars yet. f7 Admin: set up dealerships, resource types and users first."
    )


def test_an_empty_car_list_says_what_to_do(ui_world: Any) -> None:
    assert empty_car_list(ui_world["seller495"]) == "No cars yet. ctrl+n registers the first."
    assert "once a seller registers it" in empty_car_list(ui_world["mechanic499"])


# ------------------------------------------------------------------------------------------------
# choosing one's own start screen, by keys
# ------------------------------------------------------------------------------------------------
async def test_a_start_screen_chosen_by_the_palette_is_used_at_the_next_sign_in(
    ui_store: Any, ui_world: Any
) -> None:
    ola = ui_world["coordinator499"]
    app = make_app(ui_store, actor=ola)
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")  # Workshop: everyone's hours
        await settle(pilot, app)
        await pilot.press("ctrl+p", *"open on this")
        await pilot.pause(0.4)
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        said = [n.message for n in app._notifications]
        assert "From now on you open on Workshop when you sign in." in said, said
    assert stored_start(ui_world, "coordinator499") == "workshop"
    again = make_app(ui_store, actor=ola)
    async with again.run_test(size=NARROW) as pilot:
        await settle(pilot, again)
        assert again.current_mode == "workshop"


async def test_a_start_screen_chosen_in_the_help_is_used_at_the_next_sign_in(
    ui_store: Any, ui_world: Any
) -> None:
    ui_store.run(users.set_pin, None, ui_world["seller495"].user_id, "4321")
    app = make_app(ui_store)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for_users(app, pilot)
        await pilot.press(*"kari", "enter")
        await settle(pilot, app)
        await pilot.press(*"4321", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)
        await pilot.press("f2", "f1")
        await settle(pilot, app)
        assert "s: open on Cars when you sign in, from now on." in text_of(app)
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, CarListScreen)
        await pilot.press("f9")  # the next person signs in at the same terminal: her again
        await settle(pilot, app)
        await wait_for_users(app, pilot)
        await pilot.press(*"kari", "enter")
        await settle(pilot, app)
        await pilot.press(*"4321", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarListScreen)
    assert stored_start(ui_world, "seller495") == "cars"


# ------------------------------------------------------------------------------------------------
# the footer and the help
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_the_footer_keeps_sign_out_help_and_inbox_then_the_screens_keys(
    ui_store: Any, ui_world: Any, size: tuple[int, int]
) -> None:
    app = make_app(ui_store, actor=ui_world["mechanic499"])
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        line = footer(app)
        assert line.startswith(PINNED + " ⏎ Start / stop  c Complete ")  # then in order of use
        assert len(line) == size[0]
        # the line ends with where the other keys are, then the palette
        assert re.search(r" f1 more +▏ \^p Find $", line) or "f1 more" not in line, line
        if size == NARROW:
            assert "f1 more" in line  # the rest are in the help
        await pilot.press("f2")
        await settle(pilot, app)
        assert footer(app).startswith(PINNED + " ⏎ Open car ")


async def test_the_sign_in_screen_footer_has_help_and_quit(ui_store: Any, ui_world: Any) -> None:
    app = make_app(ui_store)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for_users(app, pilot)
        line = footer(app)
        assert line.startswith(" f1 Help ") and "^q Quit" in line
        assert "Sign out" not in line and "Inbox" not in line


async def test_the_help_puts_the_screens_own_keys_first_and_folds_the_generic_ones(
    ui_store: Any, ui_world: Any
) -> None:
    app = make_app(ui_store, actor=ui_world["mechanic499"])
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, app)
        await pilot.press("f1")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app)
        assert "Sort by column" not in shown
        lines = [line.strip() for line in shown.splitlines()]
        keys = [line.split("  ")[0].strip() for line in lines]
        assert keys.index("⏎ / space") < keys.index("c") < keys.index("k") < keys.index("1…9")
        (sort,) = [line for line in lines if "Sort by" in line]  # nine keys, one line
        assert sort.startswith("1…9") and "Sort by that column" in sort
        assert keys.index("1…9") < keys.index("f1 / ?")  # this screen's, then everywhere's


# ------------------------------------------------------------------------------------------------
# shared workshop terminals
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def terminal(ui_store: Any, ui_world: Any) -> str:
    """A shared terminal account at 499; Per has a PIN, Dina a badge, Kari (495) a PIN."""
    ui_store.run(
        users.create_user, None, login="workshop1", display_name="Workshop terminal 1",
        role="mechanic", dealership_id=ui_world.d["499"],
    )  # fmt: skip
    ui_store.run(users.set_terminal, None, ui_store.fast.actor("workshop1").user_id, True)
    ui_store.run(users.set_pin, None, ui_world["mechanic499"].user_id, "1234")
    ui_store.run(users.set_badge, None, ui_world["detailer499"].user_id, "0042")
    ui_store.run(users.set_pin, None, ui_world["seller495"].user_id, "4321")
    return "workshop1"


def test_a_terminal_lists_only_its_dealerships_people_who_can_sign_in_there(
    ui_store: Any, terminal: str
) -> None:
    listed = ui_store.fast.sign_in_list(terminal)
    assert [(u.login, u.has_pin, u.has_badge) for u in listed] == [
        ("detailer499", False, True),
        ("mechanic499", True, False),
    ]
    everyone = {u.login for u in ui_store.fast.sign_in_list()}  # elsewhere: today's list
    assert {"seller495", "coordinator499", "admin", "mechanic2_499"} <= everyone
    assert "workshop1" not in everyone
    assert identify(ui_store, None, "workshop1").terminal == "workshop1"
    assert identify(ui_store, None, "workshop1").actor is None


def test_a_terminal_signs_in_only_its_own_people(world: Any, store: Any) -> None:
    """The rule behind the list, on both engines: another dealership's PIN or badge, or a user
    without a PIN, does not sign in at a terminal."""
    world.db.run(
        users.create_user, None, login="workshop1", display_name="Workshop terminal 1",
        role="mechanic", dealership_id=world.d["499"],
    )  # fmt: skip
    world.db.run(users.set_terminal, None, store.fast.actor("workshop1").user_id, True)
    world.db.run(users.set_pin, None, world["seller495"].user_id, "4321")
    world.db.run(users.set_badge, None, world["coordinator495"].user_id, "0495")
    world.db.run(users.set_pin, None, world["mechanic499"].user_id, "1234")
    with pytest.raises(LoginRefused, match="this terminal is 499 Porsgrunn's"):
        world.db.run(users.sign_in, "seller495", "4321", terminal="workshop1")
    with pytest.raises(LoginRefused, match="this terminal is 499 Porsgrunn's"):
        world.db.run(users.sign_in_badge, "0495", terminal="workshop1")
    with pytest.raises(LoginRefused, match="has no PIN"):
        world.db.run(users.sign_in, "detailer499", None, terminal="workshop1")
    assert world.db.run(users.sign_in, "mechanic499", "1234", terminal="workshop1").login == (
        "mechanic499"
    )
    assert world.db.run(users.sign_in, "seller495", "4321").login == "seller495"  # elsewhere
    assert [u.login for u in store.fast.sign_in_list("WORKSHOP1")] == ["mechanic499"]
    assert store.fast.is_terminal("workshop1") and not store.fast.is_terminal("mechanic499")


async def test_at_a_terminal_ctrl_q_signs_the_person_out_and_quits_at_the_sign_in_screen(
    ui_store: Any, ui_world: Any, terminal: str
) -> None:
    app = make_app(ui_store, terminal=terminal)
    async with app.run_test(size=NARROW) as pilot:
        screen = await wait_for_users(app, pilot)
        assert [u.login for u in screen.users] == ["detailer499", "mechanic499"]
        await pilot.press(*"dina", "enter")  # a badge only: she is told to scan it
        await settle(pilot, app)
        assert "signs in here with their badge" in str(screen.query_one("#message").render())
        await pilot.press(*["backspace"] * 4, *"0042", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyJobsScreen) and app.session_ctx is not None
        assert "^q Quit" not in footer(app)
        await pilot.press("ctrl+q")  # back to the sign-in screen for the next person
        await settle(pilot, app)
        assert app.is_running and app.session_ctx is None
        screen = await wait_for_users(app, pilot)
        assert "Signed out." in str(screen.query_one("#message").render())
        await pilot.press("ctrl+q")  # on the sign-in screen: quit
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_q_quits_a_session_the_os_login_signed_in(ui_store: Any, ui_world: Any) -> None:
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        assert "^q Quit" in footer(app) or "f1 more" in footer(app)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running
