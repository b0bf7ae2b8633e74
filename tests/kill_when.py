"""``python tests/kill_when.py DATABASE SQL AT_LEAST PID WAIT_S``: SIGKILL PID once SQL counts
AT_LEAST on the bot's SQLite database; exit 1 if that takes longer than WAIT_S seconds.

Run by ``BotProcess.kill_when`` as a process of its own, polling every few milliseconds, so
the kill lands where the test wants it however busy the test process is.
"""

import os
import signal
import sqlite3
import sys
import time


def main(path: str, sql: str, at_least: int, pid: int, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                if int(db.execute(sql).fetchone()[0]) >= at_least:
                    os.kill(pid, signal.SIGKILL)
                    return 0
        except sqlite3.OperationalError:  # not created or migrated yet
            pass
        time.sleep(0.005)
    return 1


if __name__ == "__main__":
    database, query, count, target, wait = sys.argv[1:6]
    sys.exit(main(database, query, int(count), int(target), float(wait)))
