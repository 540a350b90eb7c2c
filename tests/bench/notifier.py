"""Benchmark: the notifier's own figures (issue 8): bot overhead, memory, monitoring burst.

  overhead [N]   alice sends `run price` N times (default 100), one after another; a second
                 session of alice long-polls /sync and timestamps what it sees. The bot's overhead
                 is the time from that client seeing her message (the homeserver's own delivery)
                 to it seeing the bot's result; split with the journal (the host and the
                 containers share CLOCK_MONOTONIC) into: the bot's "initiated" reply, the bot up
                 to its StartTransientUnit returning, systemd starting the task, the task's own
                 run, and the result entry to the result seen.
  memory [C S K] the notifier's RSS (VmRSS, VmHWM) with C customers (default 1,000) and S schedules
                 (default 10,000) configured: a config and store files written into the control
                 container, the notifier restarted; idle, then after every 250 of K commands
                 (default 1,000, alice's and bob's mixed). Puts the sandbox's config back after.
  burst [C]      C customers (default 1,000) each get a monitoring result entry within one minute,
                 written into the journal the way scheduler-task writes it (a real ping per
                 customer would be C SSH logins, DNS and HTTPS probes on two shared cores: it
                 measures the task, not the notifier); every one fails twice (two rounds), so
                 each customer gets an alert. Prints the notifier's CPU time for the burst
                 (/proc/PID/stat utime+stime, and CPUUsageNSec when accounting is on) and the
                 latency from a failing entry to its alert seen in alice's room.

Usage: tests/sandbox/sandbox up --build build --name bench      # the plain build
       /usr/bin/python3 tests/bench/notifier.py /var/tmp/scheduler-sandbox/bench/env overhead [N]
"""

import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Sandbox, is_reply_to, wait_membership  # noqa: E402
from figures import percentile  # noqa: E402


class Watcher:
    """A second logged-in session that long-polls /sync and notes when each event arrives."""

    def __init__(self, client):
        self.client = client
        self.seen = {}        # event id -> (host monotonic time of arrival, event)
        self.cond = threading.Condition()
        self.stop = False
        client.sync_once(0)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            resp = self.client.sync_once(timeout_ms=30000)
            now = time.monotonic()
            with self.cond:
                for room in resp.get("rooms", {}).get("join", {}).values():
                    for e in room.get("timeline", {}).get("events", []):
                        self.seen.setdefault(e["event_id"], (now, e))
                self.cond.notify_all()

    def wait(self, predicate, timeout_s=60):
        """(time, event) of the first event seen for which predicate(event) holds."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for t, e in self.seen.values():
                    if predicate(e):
                        return t, e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching event seen")
                self.cond.wait(left)


def journal_json(sb, *matches):
    out = sb.run("journal", "-o", "json", "--no-pager", *matches)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def show(name, values_s):
    ms = [v * 1000 for v in values_s]
    print(f"  {name:<46} median {statistics.median(ms):7.1f} ms   p99 {percentile(ms, 99):7.1f} ms   "
          f"max {max(ms):7.1f} ms   (n={len(ms)})", flush=True)


def overhead(sb, n):
    bot = sb.env["BOT_USER"]
    alice, room = sb.customer_room("alice")
    watcher = Watcher(sb.client("alice"))
    cursor = sb.journal_cursor()
    rows = []
    for _ in range(n):
        sent = time.monotonic()
        event = alice.send_text(room, "run price")
        t_msg, _ = watcher.wait(lambda e: e["event_id"] == event)
        t_init, _ = watcher.wait(lambda e: is_reply_to(event, bot)(e)
                                 and not e["content"]["body"].startswith("Execution of"))
        t_res, _ = watcher.wait(lambda e: is_reply_to(event, bot)(e)
                                and e["content"]["body"].startswith("Execution of"))
        rows.append((event, sent, t_msg, t_init, t_res))
    watcher.stop = True
    sb.run("control", "journalctl", "--sync")
    results = {e["SCHEDULER_REPLY_TO"]: e for e in journal_json(sb, "--after-cursor", cursor,
                                                                 "SCHEDULER_EVENT=result")}
    started = [e for e in journal_json(sb, "--after-cursor", cursor, "-t", "scheduler-notifier")
               if e["MESSAGE"].startswith("Started `run price`")]
    delivery, total, over, init, to_unit, spawn, task, tail = [], [], [], [], [], [], [], []
    for i, (event, sent, t_msg, t_init, t_res) in enumerate(rows):
        delivery.append(t_msg - sent)
        total.append(t_res - sent)
        over.append(t_res - t_msg)
        init.append(t_init - t_msg)
        res = results.get(event)
        if res is None or i >= len(started):
            continue
        res_mono = int(res["__MONOTONIC_TIMESTAMP"]) / 1e6
        task_s = (int(res["__REALTIME_TIMESTAMP"]) - int(res["SCHEDULER_STARTED"])) / 1e6
        unit_mono = int(started[i]["__MONOTONIC_TIMESTAMP"]) / 1e6
        to_unit.append(unit_mono - t_msg)
        spawn.append(res_mono - task_s - unit_mono)
        task.append(task_s)
        tail.append(t_res - res_mono)
    print(f"run price, {n} times one after another (times as a second client of alice sees them):")
    show("message sent -> seen (homeserver delivery)", delivery)
    show("message sent -> result seen", total)
    show("bot overhead: message seen -> result seen", over)
    show("  message seen -> 'initiated' reply seen", init)
    show("  message seen -> StartTransientUnit returned", to_unit)
    show("  unit started -> task running (systemd spawn)", spawn)
    show("  task's own run (its start -> result entry)", task)
    show("  result entry -> result seen", tail)
    return over


def main(env_path, what, args):
    sb = Sandbox(env_path)
    if what == "overhead":
        overhead(sb, int(args[0]) if args else 100)
    else:
        sys.exit(f"unknown benchmark {what!r}: overhead, memory or burst")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
