"""One attempt at a time on a machine: a take-over does not get the lock while the previous
attempt's process lives (in this process or another), and gets it once that process is dead,
however it died."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from app.work.attempts import hold_attempt

HOLDER = """
import sys, time
from pathlib import Path
from app.work.attempts import hold_attempt
with hold_attempt(Path(sys.argv[1]), "step-7") as held:
    print("held" if held else "refused", flush=True)
    time.sleep(3600)
"""


def test_an_attempt_in_this_process_keeps_the_work_until_it_ends(tmp_path: Path) -> None:
    with hold_attempt(tmp_path, "step-7") as first:
        assert first
        with hold_attempt(tmp_path, "step-7") as second:
            assert not second
        with hold_attempt(tmp_path, "step-8") as other:
            assert other
    assert list(tmp_path.iterdir()) == []  # the lock file went with its holder
    with hold_attempt(tmp_path, "step-7") as again:
        assert again


def test_a_killed_attempts_lock_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with hold_attempt(tmp_path, "step-7") as taken:
            assert not taken  # its worker lives: a take-over would run beside it
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        with hold_attempt(tmp_path, "step-7") as taken:
            assert taken
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
