"""Run a command, and end it (with its whole process group) if the process that started us dies.

    python -m serve.process_guard PARENT_PID -- COMMAND...

`VLLMServer` starts vLLM through this guard in a new process group. A parent that exits normally stops the
server itself; one killed outright (SIGKILL, a closed terminal, a test runner's timeout) cannot, and without
the guard vLLM and its engine processes would run on, holding memory and the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL_S = 1.0
GRACE_S = 30.0


def guard(parent_pid: int, command: list[str]) -> int:
    child = subprocess.Popen(command)  # stays in our process group, which stop() signals as a whole
    # SIGTERM reaches the whole group at once: let the child shut down gracefully, and report its status.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    while child.poll() is None:
        if os.getppid() != parent_pid:  # re-parented: whoever started us is gone
            os.killpg(os.getpgrp(), signal.SIGTERM)
            deadline = time.monotonic() + GRACE_S
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            os.killpg(os.getpgrp(), signal.SIGKILL)
        time.sleep(POLL_S)
    return child.returncode


if __name__ == "__main__":
    parent, separator, *rest = sys.argv[1:]
    if separator != "--" or not rest:
        sys.exit("usage: python -m serve.process_guard PARENT_PID -- COMMAND...")
    sys.exit(guard(int(parent), rest))
