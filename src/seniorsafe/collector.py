"""Garbage-collector settings for the long-running processes (api, ingest, detector, trainer, workers).

CPython's full (generation-2) collection walks every tracked object and stops the event loop meanwhile. In an
api process holding 2,000 dashboard sockets that is ~270,000 objects (five asyncio tasks, their coroutines,
queues and websockets per socket): one pass took 350 ms on a busy machine, and every socket waited for it
(measured with bench/realtime.py, a gc callback logging pauses; docs/performance.md). With the default
thresholds (700, 10, 10) such a pass came every minute or so under 2,000 events/s.

`settle()` moves what the process built at start-up out of the collector's way for good (`gc.freeze`) and
raises the young-generation threshold, so that full passes come hundreds of times less often. Reference cycles
are still collected; they only live a little longer (at most ~50,000 young objects, a few MB).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000   # net allocations between two young collections (default 700)
MIDDLE_THRESHOLD = 20      # young collections per middle collection (default 10)
OLD_THRESHOLD = 20         # middle collections per full collection (default 10; CPython also waits for 25 % growth)


def settle() -> None:
    """Call once the process has imported and built its long-lived objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
