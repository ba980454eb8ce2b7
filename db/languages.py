"""Each user's language: the rule for setting it, and reading it at sign-in.

``users.language`` is ``en`` or ``nb`` (:data:`db.i18n.LANGUAGES`), or NULL: the site's language
(``language`` in the config file), else the environment's locale.  Anyone sets their own; an admin
anyone's; the command line (``prepfloor users set-language``) anyone's.

Light on purpose: :func:`language_of` runs before a session's first frame, so the ORM is imported
only by :func:`set_language`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from db.i18n import LANGUAGES, _, normalize

if TYPE_CHECKING:
    from sqlmodel import Session

    from db.access import Actor
    from db.models import User


def set_language(
    session: Session, actor: Actor | None, user_id: uuid.UUID, language: str | None
) -> User:
    """Set the language ``user_id`` reads prepfloor in (``None`` or ``""``: the site's)."""
    from db import events
    from db.clock import utcnow
    from db.errors import Invalid, NotFound
    from db.models import User

    if actor is not None and actor.user_id != user_id:
        actor.require("user.manage")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    wanted: str | None = None
    if language is not None and str(language).strip():
        wanted = normalize(language)
        if wanted is None:
            raise Invalid(
                _("Language: {choices}.").format(
                    choices=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
                ),
                "language",
            )
    if user.language != wanted:
        events.record(
            session, actor, "users", user.id, "update", {"language": [user.language, wanted]}
        )
        user.language = wanted
        user.updated_at = utcnow()
        session.add(user)
    return user


def language_of(fast: Any, user_id: uuid.UUID) -> str | None:
    """The language ``user_id`` chose (``None``: none, the site's applies).  One primary-key
    read through the fast reader (:class:`db.fast.FastReader`), before the first frame."""
    found = fast.rows("SELECT language FROM users WHERE id = :id", {"id": fast.uid(user_id)})
    return normalize(found[0][0]) if found and found[0][0] else None
