"""Passwords (for signing in from a web browser) in the app: the masked form an admin sets a user's
with (``w`` in the users list) and the one every user changes their own with ("Change my password"
in the command palette).  The rule is :func:`db.users.set_password`; a wrong current password is
refused beside its field and counts towards the lock-out, as a wrong sign-in does."""

from __future__ import annotations

import uuid
from typing import Any

from db.errors import Invalid
from db.i18n import _
from db.validate import PASSWORD_MAX, PASSWORD_MIN
from screens.context import SessionContext
from screens.forms import FormDialog, FormField


def password_form(
    ctx: SessionContext, user_id: str, name: str, *, has_password: bool
) -> FormDialog:
    """The form for ``user_id``'s password (``name``: who they are, for the title).  One's own
    asks for the current one when there is one, and needs a new one; an admin's for someone else
    clears it when the new one is left empty."""
    own = str(ctx.actor.user_id) == str(uuid.UUID(user_id))
    fields: list[FormField] = []
    if own and has_password:
        fields.append(
            FormField(
                "current",
                _("Current password"),
                _("your password now"),
                limit=PASSWORD_MAX,
                password=True,
            )
        )
    fields += [
        FormField(
            "password",
            _("New password"),
            _("at least {least} characters").format(least=PASSWORD_MIN)
            if own
            else _("at least {least} characters; empty clears it").format(least=PASSWORD_MIN),
            limit=PASSWORD_MAX,
            password=True,
        ),
        FormField(
            "repeat", _("Repeat"), _("the new password again"), limit=PASSWORD_MAX, password=True
        ),
    ]

    def save(values: dict[str, Any]) -> Any:
        from db import users

        new = values["password"]
        if own and not new:
            raise Invalid(_("Type the new password."), "password")
        if new != values["repeat"]:
            raise Invalid(_("The two passwords differ: type the new one again."), "repeat")
        return ctx.store.run(
            users.set_password,
            ctx.actor,
            uuid.UUID(user_id),
            new or None,
            current=values.get("current") or None,
        )

    if own:
        title = _("Change my password")
        intro = _(
            "Your password signs you in to prepfloor from a web browser: at least {least} "
            "characters, not your login."
        ).format(least=PASSWORD_MIN)
    else:
        title = _("Password for {name}").format(name=name)
        intro = _(
            "For signing in from a web browser: at least {least} characters, not the login. "
            "A new password also lifts a lock-out after wrong PINs or passwords."
        ).format(least=PASSWORD_MIN)
    return FormDialog(title, fields, save, intro=intro)


def change_my_password(app: Any) -> None:
    """Open "Change my password" for the signed-in user (whether they have one is read in a
    thread first: the form asks for the current one only then)."""
    ctx: SessionContext | None = getattr(app, "session_ctx", None)
    if ctx is None:
        return

    def read_then_open() -> None:
        from db import settings

        has = settings.has_password(ctx.store.fast, ctx.actor.user_id)
        form = password_form(ctx, str(ctx.actor.user_id), ctx.actor.display_name, has_password=has)
        app.call_from_thread(app.push_screen, form, _said(app))

    app.run_worker(read_then_open, thread=True, group="password", exit_on_error=False)


def _said(app: Any) -> Any:
    def saved(result: Any) -> None:
        if result is not None:
            app.notify(_("Your password is saved."))

    return saved
