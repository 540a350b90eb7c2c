"""Benchmark: the installed notifier under valgrind's memcheck over a 200-command session.

Runs scheduler-notifier.service in the sandbox's systemd container under
`valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect` (a drop-in replaces
ExecStart and loosens what memcheck needs: MemoryDenyWriteExecute, SystemCallFilter, the watchdog
and start/stop timeouts; Type=notify stays), has two customers (alice of acme, in a plaintext
room and in an end-to-end encrypted chat from her own E2EE client, and bob of globex) send 200
mixed commands (help, run price/disk/ping, list runs/schedules/recurring, schedule and
cancel, recurring and cancel, unknown text), waits for every answer and for the result of every
run started, stops the notifier cleanly and prints valgrind's summary. Exits 1 if valgrind found
errors or leaks, or a command went unanswered. Leaves the notifier running as before.

Usage: tests/sandbox/sandbox up --build build --name vg      # the plain build, not ASan
       /usr/bin/python3 tests/bench/valgrind-session.py /var/tmp/scheduler-sandbox/vg/env [N]
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Sandbox, is_reply_to, wait_reply  # noqa: E402
from e2ee_client import DEVICES, chat  # noqa: E402

DROPIN_DIR = "etc/systemd/system/scheduler-notifier.service.d"
LOG = "/var/lib/scheduler/valgrind.log"   # the unit's StateDirectory: writable under ProtectSystem=strict
ERROR_EXIT = 99
DROPIN = f"""[Service]
ExecStart=
ExecStart=/usr/bin/valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \\
        --error-exitcode={ERROR_EXIT} --num-callers=30 --log-file={LOG} /usr/bin/scheduler-notifier
# memcheck translates code at run time and uses syscalls outside @system-service.
MemoryDenyWriteExecute=no
SystemCallFilter=
# 20-50 times slower: the watchdog and the start and stop must wait for that.
WatchdogSec=10min
TimeoutStartSec=10min
TimeoutStopSec=10min
"""


def cycle(i):
    """Ten mixed commands; the i-th cycle's schedule is its own, and every other one ends the
    recurring schedule the one before set up, so the store stays small."""
    day = f"2027-02-{i % 28 + 1:02d} 1{i % 10}:{i % 60:02d}"
    last = f"recurring price Monday 10:{i:02d}" if i % 2 == 0 else "cancel price"
    return ["help", "run price", "list runs", f"schedule disk {day}", "list schedules",
            f"cancel disk {day}", "run disk", f"make me a sandwich {i}", "run ping", last]


def install_valgrind(sb):
    root = sb.env["CONTROL_ROOT"]
    os.makedirs(os.path.join(root, DROPIN_DIR), exist_ok=True)
    with open(os.path.join(root, DROPIN_DIR, "valgrind.conf"), "w", encoding="utf-8") as f:
        f.write(DROPIN)
    sb.run("control", "rm", "-f", LOG)
    sb.run("control", "systemctl", "daemon-reload")
    start = time.monotonic()
    sb.restart_notifier()
    print(f"notifier under valgrind ready (Type=notify) in {time.monotonic() - start:.1f} s", flush=True)


def remove_valgrind(sb):
    os.unlink(os.path.join(sb.env["CONTROL_ROOT"], DROPIN_DIR, "valgrind.conf"))
    sb.run("control", "systemctl", "daemon-reload")
    sb.run("control", "systemctl", "start", "scheduler-notifier.service")


def session(sb, n):
    """Sends n commands in rounds (each customer's cycle at once), waits for every reply, then
    for the result of every run that was initiated. Returns (answered, runs, results)."""
    bot = sb.env["BOT_USER"]
    people = [sb.customer_room("alice"), chat(sb), sb.customer_room("bob")]
    answered, started, i = 0, [], 0
    while answered < n:
        sent = []
        for client, room in people:
            for text in cycle(i)[:n - answered - len(sent)]:
                sent.append((client, room, client.send_text(room, text)))
        for client, room, event in sent:
            body = wait_reply(client, room, event, bot, timeout_s=300)["content"]["body"]
            answered += 1
            if body.startswith("Command execution initiated"):
                started.append((client, room, event))
        i += 1
        print(f"  {answered} commands answered", flush=True)
    # The recurring schedules the last rounds left: gone, as before the session (not counted).
    for client, room in (people[0], people[2]):
        wait_reply(client, room, client.send_text(room, "cancel price"), bot, timeout_s=300)
    results = 0
    for client, room, event in started:
        client.cursors[room] = 0
        client.wait_for_event(room, lambda e: is_reply_to(event, bot)(e)
                              and e["content"]["body"].startswith("Execution of"), 300)
        results += 1
    return answered, len(started), results


def summary(text):
    def figure(pattern):
        found = re.search(pattern, text)
        return int(found.group(1).replace(",", "")) if found else 0
    return {
        "definitely lost": figure(r"definitely lost: ([\d,]+) bytes"),
        "indirectly lost": figure(r"indirectly lost: ([\d,]+) bytes"),
        "possibly lost": figure(r"possibly lost: ([\d,]+) bytes"),
        "still reachable": figure(r"still reachable: ([\d,]+) bytes"),
        "in use at exit": figure(r"in use at exit: ([\d,]+) bytes"),
        "allocations": figure(r"total heap usage: ([\d,]+) allocs"),
        "errors": figure(r"ERROR SUMMARY: ([\d,]+) errors"),
    }


def main(env_path, n):
    sb = Sandbox(env_path)
    install_valgrind(sb)
    try:
        start = time.monotonic()
        answered, runs, results = session(sb, n)
        took = time.monotonic() - start
        sb.run("control", "systemctl", "stop", "scheduler-notifier.service")
        status = sb.notifier_property("ExecMainStatus")
        with open(os.path.join(sb.env["CONTROL_ROOT"], LOG.lstrip("/")), encoding="utf-8") as f:
            log = f.read()
    finally:
        remove_valgrind(sb)
        for device in DEVICES:
            device.run(device.nio.close())
            device.store.cleanup()
    figures = summary(log)
    print(f"valgrind memcheck, {n} commands from 2 customers (3 rooms, 1 encrypted) in {took:.0f} s:")
    print(f"  commands answered          {answered} of {n}")
    print(f"  runs started, results      {runs}, {results}")
    for name, value in figures.items():
        print(f"  {name:<26} {value}" + ("" if name in ("errors", "allocations") else " bytes"))
    print(f"  notifier exit status       {status} ({ERROR_EXIT}: valgrind found errors)")
    if ("ERROR SUMMARY" not in log or figures["errors"] or status != "0" or answered != n
            or results != runs):
        print("\nvalgrind's report:\n" + log[-20000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200))
