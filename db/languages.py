"""The language a user chose, read at sign-in before the first frame (no ORM: one primary-key
read through the fast reader).

``users.language`` is ``en`` or ``nb`` (:data:`db.i18n.LANGUAGES`), or NULL: the site's language
(``language`` in the config file), else the environment's locale.  The rule that sets it is
:func:`db.users.set_language`.
"""

from __future__ import annotations

import uuid
from typing import Any

from db.i18n import normalize


def language_of(fast: Any, user_id: uuid.UUID) -> str | None:
    """The language ``user_id`` chose (``None``: none, the site's applies), through
    :class:`db.fast.FastReader`."""
    found = fast.rows("SELECT language FROM users WHERE id = :id", {"id": fast.uid(user_id)})
    return normalize(found[0][0]) if found and found[0][0] else None
