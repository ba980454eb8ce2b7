"""Messages that carry results from workers and changes from other sessions up to the screens."""

from __future__ import annotations

from textual.message import Message


class DataChanged(Message):
    """Someone (in this or another session) wrote to the database; shown data may be stale."""

    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id


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
