"""What ``prepfloor doctor`` checks of the estimates (:mod:`db.estimates`): the invariants their
rules keep, found broken only when someone wrote the tables behind the rules' back."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlmodel import Session

from db.i18n import _
from db.vocab import ESTIMATE_DECIDED_STATES, sql_in

DECIDED = sql_in(ESTIMATE_DECIDED_STATES)
LIMIT = 50


def _rows(session: Session, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in session.execute(text(sql)).all()]


def findings(session: Session) -> Iterator[tuple[str, str]]:
    """``(level, message)`` for each estimate or line that breaks a rule."""
    for estimate_id, line_id in _rows(
        session,
        f"SELECT e.id, l.id FROM estimates e JOIN estimate_lines l ON l.estimate_id = e.id "
        f"WHERE e.state IN {DECIDED} AND l.decision = 'pending' ORDER BY e.id LIMIT {LIMIT}",
    ):
        yield (
            "error",
            _("Estimate #{id} is decided but its line #{line} is still pending.").format(
                id=estimate_id, line=line_id
            ),
        )
    for estimate_id, line_id in _rows(
        session,
        "SELECT e.id, l.id FROM estimates e JOIN estimate_lines l ON l.estimate_id = e.id "
        "WHERE e.state = 'draft' AND l.decision <> 'pending' ORDER BY e.id LIMIT 50",
    ):
        yield (
            "error",
            _("Estimate #{id} is a draft but its line #{line} is decided.").format(
                id=estimate_id, line=line_id
            ),
        )
    for estimate_id, line_id, kind in _rows(
        session,
        f"SELECT e.id, l.id, l.kind FROM estimates e "
        f"JOIN estimate_lines l ON l.estimate_id = e.id WHERE e.state IN {DECIDED} "
        "AND l.decision = 'approved' AND ((l.kind = 'part' AND l.parts_order_id IS NULL) "
        f"OR (l.kind = 'labour' AND l.booking_id IS NULL)) ORDER BY e.id LIMIT {LIMIT}",
    ):
        if kind == "part":
            message = _("Estimate #{id}: approved part line #{line} has no parts order.")
        else:
            message = _("Estimate #{id}: approved labour line #{line} has no booking.")
        yield "error", message.format(id=estimate_id, line=line_id)
    for estimate_id, line_id in _rows(
        session,
        "SELECT e.id, l.id FROM estimates e JOIN estimate_lines l ON l.estimate_id = e.id "
        "WHERE l.decision <> 'approved' AND (l.parts_order_id IS NOT NULL "
        f"OR l.booking_id IS NOT NULL) ORDER BY e.id LIMIT {LIMIT}",
    ):
        yield (
            "error",
            _(
                "Estimate #{id}: line #{line} was not approved but has a parts order or booking."
            ).format(id=estimate_id, line=line_id),
        )
    for estimate_id, state, approved, declined in _rows(
        session,
        "SELECT e.id, e.state, "
        "sum(CASE WHEN l.decision = 'approved' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN l.decision = 'declined' THEN 1 ELSE 0 END) "
        f"FROM estimates e JOIN estimate_lines l ON l.estimate_id = e.id "
        f"WHERE e.state IN {DECIDED} GROUP BY e.id, e.state ORDER BY e.id",
    ):
        wanted = "approved" if not declined else "declined" if not approved else "partly_approved"
        if state != wanted:
            yield (
                "error",
                _("Estimate #{id} is {state} but its lines say {wanted}.").format(
                    id=estimate_id, state=state, wanted=wanted
                ),
            )
    for line_id, amount, computed in _rows(
        session,
        "SELECT id, amount_ore, CASE WHEN kind = 'part' THEN quantity * unit_price_ore "
        "ELSE (CAST(round(hours * 4) AS INTEGER) * hourly_rate_ore + 2) / 4 END "
        "FROM estimate_lines ORDER BY id",
    ):
        if computed is not None and int(amount) != int(computed):
            yield (
                "error",
                _(
                    "Estimate line #{line}: its price {amount} øre is not its figures' {computed}."
                ).format(line=line_id, amount=amount, computed=computed),
            )
