"""The first report after a start is classified as fast as any other (no lemma loading)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_first_message_after_start_does_not_load_lemma_data():
    # A fresh interpreter: simplemma's tables are per process. Thread CPU time of the first
    # classification alone, against the second; loading a language costs 0.2-0.4 s, any
    # message a millisecond.
    script = textwrap.dedent(
        """
        import time
        from bot.domain.classifier import classifier_for
        c = classifier_for(None)
        t0 = time.thread_time()
        c.classify("Er loopt iemand met een koevoet rond de schuurtjes")
        t1 = time.thread_time()
        c.classify("Someone is running off with a bike towards the station")
        t2 = time.thread_time()
        print(t1 - t0, t2 - t1)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    first, second = float(out[0]), float(out[1])
    assert first < 0.1 and second < 0.1, (first, second)
