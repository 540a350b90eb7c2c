"""Benchmark: how long a customer waits for `run price`, end to end, in the sandbox.

Prints, over N sequential commands: the time from sending `run price` to seeing the bot's
"initiated" reply and its result (as the customer's client sees them over /sync), and the
duration of the StartTransientUnit call the notifier logs for each run.

Usage: tests/sandbox/sandbox up --build build --name bench
       /usr/bin/python3 tests/bench/run-roundtrip.py /var/tmp/scheduler-sandbox/bench/env [N]
"""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Sandbox, is_reply_to, wait_membership  # noqa: E402
from figures import percentile  # noqa: E402


def main(env_path, n):
    sb = Sandbox(env_path)
    bot = sb.env["BOT_USER"]
    alice = sb.client("alice")
    room = alice.create_room(invite=[bot])
    wait_membership(alice, room, bot, "join")
    initiated, results = [], []
    for _ in range(n):
        start = time.monotonic()
        event = alice.send_text(room, "run price")
        alice.wait_for_event(room, is_reply_to(event, bot), 60)
        initiated.append(time.monotonic() - start)
        alice.wait_for_event(room, lambda e: is_reply_to(event, bot)(e)
                             and e["content"]["body"].startswith("Execution of"), 60)
        results.append(time.monotonic() - start)
    log = sb.run("journal", "-u", "scheduler-notifier.service", "-o", "cat", "--no-pager")
    bus = [float(x) for x in re.findall(r"StartTransientUnit took ([0-9.]+) ms", log)][-n:]

    def show(name, values, unit_ms=True):
        scale = 1 if unit_ms else 1000
        print(f"{name:<42} median {statistics.median(values) * scale:7.1f} ms   "
              f"p90 {percentile(values, 90) * scale:7.1f} ms   (n={len(values)})")
    print(f"run price, {n} times, one after another:")
    show("message -> 'initiated' reply seen", initiated, unit_ms=False)
    show("message -> result seen", results, unit_ms=False)
    show("StartTransientUnit (timer-less service)", bus)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20)
