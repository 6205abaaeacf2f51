"""The demo's settings with channels-redis' core layer at its own defaults: bench.burst's baseline.

capacity 100 messages per process before ``group_send`` drops, ``group_expiry``
86400 s, and the bare URL (redis-py's own socket timeouts), as a project that
points CHANNEL_LAYERS at REDIS_URL without tuning gets.
"""

import os

from config.settings import *  # noqa: F403

CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [os.environ["REDIS_URL"]]}}
}
