"""Messages that carry results from workers and changes from other sessions up to the screens."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class DataChanged(Message):
    """Someone (in this or another session) wrote to the database; shown data may be stale.

    ``change`` (:class:`db.feed.Change`) says which tables and cars were touched: a screen
    reloads only when what it shows was (:meth:`touches`, :meth:`touches_car`); without it,
    everything may have changed."""

    def __init__(self, change: Any = None) -> None:
        super().__init__()
        self.change = change

    @property
    def event_id(self) -> int:
        return int(self.change.newest) if self.change is not None else 0

    def touches(self, *tables: str) -> bool:
        return self.change is None or bool(self.change.touches(*tables))

    def touches_car(self, car_id: int) -> bool:
        return self.change is None or bool(self.change.touches_car(car_id))


class OpenCar(Message):
    """Open a car's detail view."""

    def __init__(self, car_id: int) -> None:
        super().__init__()
        self.car_id = car_id


class SignedIn(Message):
    """The sign-in screen has checked a user; the session can start."""

    def __init__(self, actor: object) -> None:
        super().__init__()
        self.actor = actor
