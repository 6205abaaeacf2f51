"""A socket's live history: join its own owner's group (:mod:`realtime_uploads.state.owners`), leave it at the end.

Which group is decided by the socket's handshake alone: ``scope["user"]``
(under channels' ``AuthMiddlewareStack``), else the session cookie it came
with, read on the database executor. A signed-in user's sockets share the
user's group (every browser they are signed in on); an anonymous visitor's
share their session's (the tabs of one browser). Nothing the client sends
names a group, so no one can listen to another's uploads; without a session
there is nothing to follow and :class:`~realtime_uploads.exceptions.SubscriptionRefused`
(``forbidden``) says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from realtime_uploads.exceptions import SubscriptionRefused
from realtime_uploads.push.subscriptions import LAYER_TIMEOUT, session_key
from realtime_uploads.runtime.executor import run
from realtime_uploads.state.access import session_user
from realtime_uploads.state.owners import owner_group, session_key_hash

logger = logging.getLogger(__name__)


async def group_of(scope: dict) -> str | None:
    """The owner group of the socket whose handshake is ``scope``: its signed-in user's, else its anonymous
    session's; None when it has neither (no ``scope["user"]`` signed in and no session cookie)."""
    user = scope.get("user")
    key = session_key(scope)
    if user is None and key:
        user = await run(session_user, key)
    if getattr(user, "is_authenticated", False):
        return owner_group(user_id=user.pk)
    return owner_group(session_hash=session_key_hash(key)) if key else None


class History:
    """The owner group one socket has joined (``layer`` and ``channel`` are the socket's), at most one."""

    __slots__ = ("channel", "group", "layer")

    def __init__(self, layer: Any, channel: str):
        self.layer, self.channel = layer, channel
        self.group: str | None = None

    async def follow(self, scope: dict) -> None:
        """Join the owner group of ``scope``'s session (again: nothing changes). Raises
        :class:`~realtime_uploads.exceptions.SubscriptionRefused`: ``forbidden`` without a session,
        ``try_again`` when the session store or the channel layer cannot be reached."""
        if self.group is not None:
            return
        try:
            group = await group_of(scope)
        except Exception as exc:  # Overloaded, DatabaseError: the client retries with backoff
            logger.warning("Could not read a socket's session for its history: %r", exc)
            raise SubscriptionRefused("try_again", "The server is busy; try again later.") from None
        if group is None:
            raise SubscriptionRefused("forbidden", "There is no history to follow without a session: sign in, or "
                                      "upload something first (an upload starts an anonymous session).")
        try:
            await asyncio.wait_for(self.layer.group_add(group, self.channel), LAYER_TIMEOUT)
        except Exception as exc:
            logger.warning("Could not join an owner group (%r); refusing to follow history.", exc)
            await self._leave(group)
            raise SubscriptionRefused("try_again", "The server cannot follow uploads right now; "
                                      "try again later.") from None
        self.group = group

    async def still_ours(self, scope: dict) -> bool:
        """Whether the socket's session still names the group it joined, read again now (news of an upload
        carries a token that may cancel, delete and download it). A session that ended (sign-out, expiry) or
        changed hands leaves the group: False from then on. A store that cannot be read is False for this
        message only (the page's next history GET has what it missed)."""
        if self.group is None:
            return False
        try:
            group = await group_of(scope)
        except Exception as exc:  # Overloaded, DatabaseError
            logger.warning("Could not re-read a socket's session for its history: %r", exc)
            return False
        if group != self.group:
            await self.close()
            return False
        return True

    async def close(self) -> None:
        """Leave the group (nothing if none was joined)."""
        group, self.group = self.group, None
        if group is not None:
            await self._leave(group)

    async def _leave(self, group: str) -> None:
        try:
            await asyncio.wait_for(self.layer.group_discard(group, self.channel), LAYER_TIMEOUT)
        except Exception as exc:
            logger.info("Could not leave an owner group cleanly: %r", exc)
