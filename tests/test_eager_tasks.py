"""The app as Python 3.12 and later run it.

There ``App.run_async`` makes the event loop start every new task at once
(``asyncio.eager_task_factory``), where ``App.run_test`` starts them on the loop's next turn, as
every other test here does.  Textual 8.2.8 then composes a mode's first screen before it records
it as the mode's screen, and an ``Input`` on it that asks for the app's screen as it mounts ends
the app ("No known mode 'signin'"): prepfloor did not start at all on Python 3.12.
``prepfloor/textual_fixes.py`` mends it; these tests start the app the way ``prepfloor`` does.
On Python 3.11, which has no eager factory, a stand-in takes its place, so that the mend's own
part (the factory taken off the loop) is checked there too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from settling import settle

from prepfloor.app import make_app

SIZE = (120, 40)


def _stand_in(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    return asyncio.Task(coro, loop=loop, **kwargs)


@pytest.fixture
def eager_loop(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The factory ``App.run_async`` sets on the loop: Python's own, else the stand-in."""
    if not hasattr(asyncio, "eager_task_factory"):
        monkeypatch.setattr(asyncio, "eager_task_factory", _stand_in, raising=False)
    return asyncio.eager_task_factory


@pytest.mark.parametrize(
    ("who", "first"), [(None, "LoginScreen"), ("coordinator499", "CapacityScreen")]
)
async def test_the_app_starts_where_the_loop_starts_tasks_eagerly(
    ui_store, ui_world, eager_loop, who: str | None, first: str
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world[who] if who else None)
    seen: dict[str, Any] = {}

    async def first_frame(pilot: Any) -> None:
        await settle(pilot, app)
        seen["factory"] = asyncio.get_running_loop().get_task_factory()
        seen["screen"] = type(app.screen).__name__
        if who is None:  # the sign-in screen takes a name: its Input is mounted and works
            await pilot.press(*"ola")
            await settle(pilot, app)
            seen["typed"] = app.screen.query_one("#filter").value
        app.exit(0)

    await app.run_async(headless=True, size=SIZE, auto_pilot=first_frame)
    # the first screen is up and takes keys, and the app's tasks start on the loop's next turn
    typed = {"typed": "ola"} if who is None else {}
    assert seen == {"screen": first, **typed, "factory": None}
    assert app.return_code == 0
