"""Flood detection by the events' own timestamps.

After downtime the bot catches up on a backlog in one burst. Judging by
arrival time would make every active resident look like a flooder, so only
``origin_server_ts`` counts. Events may also arrive out of order (federation,
backfill), hence a sorted list per sender rather than a simple queue.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict

DEFAULT_MAX_TRACKED = 10_000


class FloodDetector:
    """Remembers recent message timestamps per (room, sender); no clock, no I/O.

    Firing clears that sender's history, so a sustained flood yields one signal
    per ``max_messages + 1`` messages instead of one per message: one strike
    per burst, not a kick after a single burst of ten.
    The caller must skip duplicate events (same event ID seen twice).
    """

    def __init__(
        self, max_messages: int, window_ms: int, *, max_tracked: int = DEFAULT_MAX_TRACKED
    ) -> None:
        if max_messages < 1 or window_ms < 1 or max_tracked < 1:
            raise ValueError("max_messages, window_ms and max_tracked must be positive")
        self.max_messages = max_messages
        self.window_ms = window_ms
        self.max_tracked = max_tracked
        self._recent: OrderedDict[tuple[str, str], list[int]] = OrderedDict()

    def __len__(self) -> int:
        """Number of (room, sender) pairs currently remembered."""
        return len(self._recent)

    def observe(self, room_id: str, user_id: str, ts_ms: int) -> bool:
        """Record one message; True when it makes more than ``max_messages`` within the window."""
        key = (room_id, user_id)
        stamps = self._recent.pop(key, [])
        self._recent[key] = stamps  # most recently active last: eviction drops the quietest
        bisect.insort(stamps, ts_ms)
        # Anything older than a window before the newest event can no longer matter.
        horizon = stamps[-1] - self.window_ms
        del stamps[: bisect.bisect_left(stamps, horizon)]
        flooded = self._any_window_over_limit(stamps, bisect.bisect_left(stamps, ts_ms))
        if flooded:
            stamps.clear()
        while len(self._recent) > self.max_tracked:
            self._recent.popitem(last=False)
        return flooded

    def _any_window_over_limit(self, stamps: list[int], index: int) -> bool:
        """Whether some window of ``window_ms`` around ``stamps[index]`` holds too many messages."""
        span = self.max_messages  # max_messages + 1 messages span this many gaps
        first = max(0, index - span)
        last = min(index, len(stamps) - 1 - span)
        return any(stamps[i + span] - stamps[i] < self.window_ms for i in range(first, last + 1))

    def prune(self, now_ms: int) -> None:
        """Forget senders silent for a whole window; call now and then to free memory."""
        horizon = now_ms - self.window_ms
        for key in [k for k, stamps in self._recent.items() if not stamps or stamps[-1] < horizon]:
            del self._recent[key]

    def forget_user(self, user_id: str) -> None:
        """Drop everything remembered about ``user_id`` (erasure request, or they left)."""
        for key in [k for k in self._recent if k[1] == user_id]:
            del self._recent[key]
