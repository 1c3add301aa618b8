"""Who may read a battle (issue 13 §4).

Before the vote, a battle, its stream and its images are its creator's alone (the session's voter id);
after the vote they are shared: anyone with the link reads them (the permalink), unless a moderator hid
the battle. Staff and moderators read any battle. Anyone else hears exactly what an unknown battle
answers, so that holding an id tells nothing about whether it exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from arena.identity import VOTER_SESSION_KEY
from arena.models import Battle, TurnAttachment, Vote
from arena.selectors import battle_get
from core.errors import NotFound

# The permission of the moderator group (moderation.AuditEntry's Meta); named here so that the arena
# need not import the layer above it.
MODERATE_PERMISSION = "moderation.act"
NO_SUCH_BATTLE = "There is no such battle."


def viewer_moderates(*, user: Any) -> bool:
    """Staff and moderators read every battle, hidden or not, before its vote or after."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.has_perm(MODERATE_PERMISSION))


def session_voter_id(*, session: Any) -> str | None:
    """The voter id a session holds, without giving it one (reading must not start a session)."""
    value = session.get(VOTER_SESSION_KEY) if session is not None else None
    return str(value) if value else None


def _is_voted(battle: Battle) -> bool:
    try:
        battle.vote  # noqa: B018 (the related row, loaded or read once)
    except Vote.DoesNotExist:
        return False
    return True


def battle_readable(*, battle: Battle, viewer_id: str | None, user: Any = None) -> bool:
    if viewer_id is not None and viewer_id == battle.creator_id:
        return True
    if viewer_moderates(user=user):
        return True
    return battle.hidden_at is None and _is_voted(battle)


def battle_readable_get(
    *, battle_id: uuid.UUID | str, viewer_id: str | None, user: Any = None, blind_only: bool = True
) -> Battle:
    """`selectors.battle_get`, for a reader who may see the battle; NotFound, as for an unknown id,
    otherwise."""
    battle = battle_get(battle_id=battle_id, blind_only=blind_only)
    if not battle_readable(battle=battle, viewer_id=viewer_id, user=user):
        raise NotFound(NO_SUCH_BATTLE)
    return battle


def battle_readable_check(*, battle_id: uuid.UUID | str, viewer_id: str | None, user: Any = None) -> None:
    """The same rule in one small query, for endpoints that act on a battle: a reader who may not see
    it learns nothing more from acting on it (404, not 403)."""
    battle = Battle.objects.filter(pk=battle_id, mode=Battle.Mode.BLIND).select_related("vote").first()
    if battle is None or not battle_readable(battle=battle, viewer_id=viewer_id, user=user):
        raise NotFound(NO_SUCH_BATTLE)


def attachment_readable_get(
    *, public_id: uuid.UUID | str, viewer_id: str | None, user: Any = None
) -> TurnAttachment:
    """An attachment by its public name, for a reader who may see its battle (any mode: the
    playground's named battles show their own images to their creator)."""
    attachment = (
        TurnAttachment.objects.select_related("asset", "turn__battle", "turn__battle__vote")
        .filter(public_id=public_id)
        .first()
    )
    if attachment is None or not battle_readable(
        battle=attachment.turn.battle, viewer_id=viewer_id, user=user
    ):
        raise NotFound("There is no such image.")
    return attachment
