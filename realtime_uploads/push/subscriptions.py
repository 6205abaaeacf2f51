"""Following an upload from a socket: authorise, count, join its group, read its snapshot. One place, both consumers.

:class:`Subscriptions` is what a socket follows; its :meth:`~Subscriptions.follow`
is the whole accept path of a subscription, so the per-upload route
(:class:`~realtime_uploads.consumers.uploads.UploadConsumer`, one upload) and
the multiplexed one (:class:`~realtime_uploads.consumers.multiplex.MultiplexConsumer`,
many) cannot drift apart, and each consumer only talks to its socket.

The order is what makes it cheap and lossless under a reconnect storm:

1. the subscribe token is checked without the database; a socket that can be
   neither token holder nor owner (no token, no session) joins nothing;
2. the socket joins the upload's group *before* reading the snapshot, so a
   change committed in between arrives as a push and none is lost; it is
   counted against ``MAX_SOCKETS_PER_UPLOAD`` (:mod:`.socket_caps`) only once
   authorised: at once for a valid token, after the owner check for a session
   (before 0.3 a socket with any session cookie was counted first, so sockets
   that were never authorised could keep the owner's out);
3. the snapshot read is batched with those of every other socket in the same
   event-loop iteration (:mod:`realtime_uploads.state.snapshots`); the session
   is read only when no valid token came (so no channels ``AuthMiddlewareStack``
   is needed, though ``scope["user"]`` is used under one), once per socket;
4. anything refused is undone (count released, group left) before
   :class:`~realtime_uploads.exceptions.SubscriptionRefused` names why.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http.cookie import parse_cookie

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import Overloaded, SubscriptionRefused
from realtime_uploads.push.socket_caps import counts
from realtime_uploads.runtime.executor import run
from realtime_uploads.state.access import check_subscribe_token, is_owner, session_user
from realtime_uploads.state.events import group_name
from realtime_uploads.state.snapshots import snapshot

logger = logging.getLogger(__name__)

#: Longest wait for the channel layer to join or leave a group, seconds.
LAYER_TIMEOUT = 5.0
_UNSET = object()


def session_key(scope: dict) -> str | None:
    """The session cookie's value; every ``Cookie`` header counts (HTTP/2 may split them, RFC 9113 8.2.3)."""
    cookies = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"cookie"]
    return parse_cookie("; ".join(cookies)).get(settings.SESSION_COOKIE_NAME) if cookies else None


class Subscriptions:
    """The uploads one socket follows: ``scope`` is its handshake, ``layer`` and ``channel`` where events reach it.

    ``limit`` caps how many it may follow at once (``too_many_subscriptions``; None: no cap).
    """

    # One per socket, and a process holds 10 000 of them: no per-instance __dict__.
    __slots__ = ("_user", "channel", "followed", "layer", "limit", "scope")

    def __init__(self, scope: dict, layer: Any, channel: str, *, limit: int | None = None):
        self.scope, self.layer, self.channel, self.limit = scope, layer, channel, limit
        #: The uploads followed now.
        self.followed: set[uuid.UUID] = set()
        self._user: Any = _UNSET

    async def follow(self, upload_id: uuid.UUID, token: str | None) -> dict[str, Any]:
        """Authorise following ``upload_id`` and join its group; returns its snapshot event.

        Following an upload already followed re-reads its snapshot (a
        catch-up). Raises :class:`~realtime_uploads.exceptions.SubscriptionRefused`
        (``too_many_subscriptions``, ``too_many_subscribers``, ``try_again``,
        ``not_found``, ``forbidden``) with nothing left counted or joined.
        """
        known = upload_id in self.followed
        if not known and self.limit is not None and len(self.followed) >= self.limit:
            raise SubscriptionRefused("too_many_subscriptions", f"This socket already follows {len(self.followed)} "
                                      "uploads, the most allowed (MAX_SUBSCRIPTIONS_PER_SOCKET); unsubscribe from "
                                      "one first.")
        token_ok = known or check_subscribe_token(token, upload_id)  # a followed upload was authorised already
        joining = not known and (token_ok or self._may_be_owner())
        counted = joining and token_ok  # a token authorises now; a session only once the owner check passes
        if joining:
            await self._join(upload_id, count=counted)
        try:
            found = await snapshot(upload_id)
            user = await self._session_user() if found is not None and not token_ok else None
        except (Overloaded, DatabaseError) as exc:
            if not isinstance(exc, Overloaded):
                logger.exception("Could not read upload %s for a socket.", upload_id)
            await self._undo(upload_id, joining, counted=counted)
            raise SubscriptionRefused("try_again", "The server is busy; try again later.") from None
        except BaseException:  # cancelled (the socket went away), or a bug: nothing may stay counted
            await self._undo(upload_id, joining, counted=counted)
            raise
        if found is None:
            await self._undo(upload_id, joining, counted=counted)
            raise SubscriptionRefused("not_found", "No upload has this id.")
        if not token_ok and not is_owner(user, found.owner_id):
            await self._undo(upload_id, joining, counted=counted)
            raise SubscriptionRefused("forbidden", "Send this upload's subscribe token, or sign in as its owner.")
        if joining and not counted and not _count(upload_id):
            await self._undo(upload_id, True, counted=False)
            raise _too_many_subscribers()
        if joining:
            self.followed.add(upload_id)
        return found.event

    async def unfollow(self, upload_id: uuid.UUID) -> None:
        """Stop following ``upload_id`` (nothing if it is not followed)."""
        if upload_id in self.followed:
            self.followed.discard(upload_id)
            await self._undo(upload_id, True)

    async def close(self) -> None:
        """Stop following everything, all at once: with Redis down each leave waits up to LAYER_TIMEOUT."""
        await asyncio.gather(*(self.unfollow(upload_id) for upload_id in list(self.followed)))

    def _may_be_owner(self) -> bool:
        user = self.scope.get("user")  # set by channels' AuthMiddlewareStack, if the project uses it
        if user is not None:
            return bool(getattr(user, "is_authenticated", False))
        return bool(session_key(self.scope))

    async def _session_user(self) -> Any:
        """The socket's user, read once: ``scope["user"]``, else the session cookie's (on the executor)."""
        if self._user is _UNSET:
            user = self.scope.get("user")
            if user is None:
                key = session_key(self.scope)
                user = await run(session_user, key) if key else None
            self._user = user
        return self._user

    async def _join(self, upload_id: uuid.UUID, *, count: bool) -> None:
        """Join the upload's group, counting the subscription first when ``count`` (it is authorised)."""
        if count and not _count(upload_id):
            raise _too_many_subscribers()
        group = group_name(upload_id)
        try:
            await asyncio.wait_for(self.layer.group_add(group, self.channel), LAYER_TIMEOUT)
        except Exception as exc:  # Redis down or hung: the client retries with backoff
            logger.warning("Could not join %s (%r); refusing the subscription.", group, exc)
            await self._undo(upload_id, True, counted=count)  # group_add registers the channel before it subscribes
            raise SubscriptionRefused("try_again", "The server cannot follow uploads right now; "
                                      "try again later.") from None

    async def _undo(self, upload_id: uuid.UUID, joined: bool, *, counted: bool = True) -> None:
        """Release the count (if ``counted``) and leave the group of a subscription that :meth:`_join` made."""
        if not joined:
            return
        if counted:
            counts.give_back(counts.by_upload, upload_id)
        group = group_name(upload_id)
        try:
            await asyncio.wait_for(self.layer.group_discard(group, self.channel), LAYER_TIMEOUT)
        except Exception as exc:
            logger.info("Could not leave %s cleanly: %r", group, exc)


def _count(upload_id: uuid.UUID) -> bool:
    """Count one authorised subscription of ``upload_id``; False past ``MAX_SOCKETS_PER_UPLOAD``."""
    return counts.take(counts.by_upload, upload_id, uploads_settings.MAX_SOCKETS_PER_UPLOAD)


def _too_many_subscribers() -> SubscriptionRefused:
    return SubscriptionRefused("too_many_subscribers", "Too many sockets follow this upload already "
                               "(MAX_SOCKETS_PER_UPLOAD); try again later.")
