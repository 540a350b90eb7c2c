"""Benchmark: the notifier's own figures (issue 8): bot overhead and memory.

  overhead [N]   alice sends `run price` N times (default 100), one after another; a second
                 session of alice long-polls /sync and timestamps what it sees. The bot's overhead
                 is the time from that client seeing her message (the homeserver's own delivery)
                 to it seeing the bot's result; split with the journal (the host and the
                 containers share CLOCK_MONOTONIC) into: the bot's "initiated" reply, the bot up
                 to its StartTransientUnit returning, systemd starting the task, the task's own
                 run, and the result entry to the result seen.
  start [C S]    the same customers and schedules as memory, the notifier restarted: the time from
                 the restart to alice's first answer, and to the end of the start's reconcile
                 (every schedule's timer given to systemd), as the notifier logs it; its memory then.
  burst [C R]    C customers (default 1,000: acme, globex and C - 2 more) whose monitoring units
                 all start at once, twice; their servers are absent (SSH refused, no DNS), so
                 each real ping fails in milliseconds and the second round is an alert each.
                 Prints the results' span, the notifier's CPU time per round and the latency
                 from a failing result entry to its alert seen in one of R rooms of alice's
                 (default 20), the customers' alerts spread over them in turn; then the
                 homeserver's own pace: as many notices from a plain client, 8 at a time.
  memory [C S K] the notifier's RSS (VmRSS, VmHWM) with C customers (default 1,000) and S schedules
                 (default 10,000) configured: a config and store files written into the control
                 container, the notifier restarted; idle, then after every 250 of K commands
                 (default 1,000, alice's and bob's mixed). Puts the sandbox's config back after.

Usage: tests/sandbox/sandbox up --build build --name bench      # the plain build
       /usr/bin/python3 tests/bench/notifier.py /var/tmp/scheduler-sandbox/bench/env overhead [N]
       /usr/bin/python3 tests/bench/notifier.py /var/tmp/scheduler-sandbox/bench/env memory [C S K]
       /usr/bin/python3 tests/bench/notifier.py /var/tmp/scheduler-sandbox/bench/env start [C S]
"""

import concurrent.futures
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
        # The result is posted from the task's result entry, while its unit may still be running its
        # ExecStopPost; a `run price` then would be told "already running". Next one once it is gone.
        while sb.run("control", "systemctl", "list-units", "--no-legend", "--plain",
                     "scheduler-acme-price-run-*").strip():
            pass
    watcher.stop = True
    sb.run("control", "journalctl", "--sync")
    # Everything since, matched here: bookworm's journalctl with --after-cursor and a match skips
    # the first matching entry when the cursor's own entry does not match.
    entries = journal_json(sb, "--after-cursor", cursor)
    results = {e["SCHEDULER_REPLY_TO"]: e for e in entries if e.get("SCHEDULER_EVENT") == "result"}
    # The bot's "Started `run price`" lines, by when it logged them (one per command, between
    # its sending and its result).
    started = [int(e["__MONOTONIC_TIMESTAMP"]) / 1e6 for e in entries
               if e.get("SYSLOG_IDENTIFIER") == "scheduler-notifier"
               and str(e.get("MESSAGE", "")).startswith("Started `run price`")]
    delivery, total, over, init, to_unit, spawn, task, tail = [], [], [], [], [], [], [], []
    for event, sent, t_msg, t_init, t_res in rows:
        delivery.append(t_msg - sent)
        total.append(t_res - sent)
        over.append(t_res - t_msg)
        init.append(t_init - t_msg)
        res = results.get(event)
        unit = [t for t in started if sent <= t <= t_res]
        if res is None or len(unit) != 1:
            continue
        res_mono = int(res["__MONOTONIC_TIMESTAMP"]) / 1e6
        task_s = (int(res["__REALTIME_TIMESTAMP"]) - int(res["SCHEDULER_STARTED"])) / 1e6
        unit_mono = unit[0]
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


def notifier_memory(sb):
    """(VmRSS, VmHWM, RssAnon, RssFile) of the running notifier, in kB."""
    pid = sb.notifier_property("MainPID")
    status = sb.run("control", "cat", f"/proc/{pid}/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return tuple(int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"))


def show_memory(when, rss, hwm, anon, file):
    print(f"  {when:<22} RSS {rss / 1024:5.1f} MB   peak {hwm / 1024:5.1f} MB   "
          f"anonymous {anon / 1024:5.1f} MB   file-backed {file / 1024:5.1f} MB", flush=True)


def configure(sb, customers, schedules, ssh_port=None):
    """customers - 2 more customers (owners no one logs in as) with schedules one-shots in 2099
    spread over all of them in their store files, the notifier restarted with it; returns the
    config to put back."""
    root = sb.env["CONTROL_ROOT"]
    conf_path = os.path.join(root, "etc/scheduler/scheduler.conf")
    with open(conf_path, encoding="utf-8") as f:
        original = f.read()
    host_key = next(line for line in original.splitlines() if line.startswith("ssh_known_host_key"))
    names = ["acme", "globex"] + [f"bench{i:04d}" for i in range(customers - 2)]
    extra = []
    for name in names[2:]:
        # A maintenance slot on Sunday: no default one comes due while the benchmark runs.
        extra.append(f"\n[customer {name}]\nowners = @{name}:{sb.env['SERVER_NAME']}\ndomain = {name}.test\n"
                     f"ssh_host = 127.0.0.1\nssh_port = {ssh_port or sb.env['SSH_PORT']}\nssh_user = root\n"
                     f"ssh_key_file = /etc/scheduler/secrets/acme.key\n{host_key}\n"
                     f"components = matrix, hosting-big\nmaintenance = Sunday 12:00\n")
    with open(conf_path, "w", encoding="utf-8") as f:
        f.write(original + "".join(extra))
    store = os.path.join(root, "etc/scheduler/schedules.d")
    commands = ["ping", "disk", "price"]
    per, rest = divmod(schedules, customers)
    for c, name in enumerate(names):
        with open(os.path.join(store, name + ".conf"), "w", encoding="utf-8") as f:
            f.write("# bench\n")
            for j in range(per + (c < rest)):
                f.write(f"\n[s{j}]\ncommand = {commands[(c + j) % 3]}\n"
                        f"date = 2099-{j % 12 + 1:02d}-{c % 28 + 1:02d}\ntime = {j % 24:02d}:{c % 60:02d}\n")
    sb.run("control", "chown", "-R", "scheduler:scheduler", "/etc/scheduler/schedules.d")
    return original


def restart_timed(sb, customers, schedules):
    start = time.monotonic()
    sb.restart_notifier()
    print(f"{customers} customers, {schedules} schedules: notifier restarted and ready in "
          f"{time.monotonic() - start:.1f} s", flush=True)


def first_answer(sb, customers, schedules, client, room):
    """Restarts the notifier and times alice's first answer, and the start's reconcile (every
    schedule's timer given to systemd, on the lane the answers take)."""
    cursor = sb.journal_cursor()
    start = time.monotonic()
    restart_timed(sb, customers, schedules)
    client.skip_to_end(room)
    event = client.send_text(room, "help")
    client.wait_for_event(room, is_reply_to(event, sb.env["BOT_USER"]), 900)
    print(f"first answer (`help`) {time.monotonic() - start:.1f} s after the restart", flush=True)
    print(f"the notifier: {wait_reconciled(sb, cursor)}", flush=True)


def wait_reconciled(sb, cursor):
    """The notifier's line that its start's reconcile ended, logged after cursor."""
    start = time.monotonic()
    while True:
        said = [line for line in sb.notifier_said(cursor).splitlines() if line.startswith("Reconciled ")]
        if said:
            return said[0]
        if time.monotonic() - start > 900:
            raise TimeoutError("no end of the reconcile in 900 s")
        sb.run("control", "journalctl", "--sync")
        # A poll of the journal: rarely, as each look costs the cores the reconcile needs (the line
        # says itself when the reconcile ended).
        time.sleep(5)


def start(sb, customers, schedules):
    original = configure(sb, customers, schedules)
    try:
        first_answer(sb, customers, schedules, *sb.customer_room("alice"))
        show_memory("after the reconcile", *notifier_memory(sb))
    finally:
        unconfigure(sb, original)


def unconfigure(sb, original):
    root = sb.env["CONTROL_ROOT"]
    with open(os.path.join(root, "etc/scheduler/scheduler.conf"), "w", encoding="utf-8") as f:
        f.write(original)
    sb.run("control", "sh", "-c", "rm -f /etc/scheduler/schedules.d/*.conf")
    sb.restart_notifier()


def memory(sb, customers, schedules, commands):
    bot = sb.env["BOT_USER"]
    people = [sb.customer_room("alice"), sb.customer_room("bob")]
    original = configure(sb, customers, schedules)
    try:
        first_answer(sb, customers, schedules, *people[0])
        texts = ["help", "run price", "list schedules", "list runs", "make me a sandwich", "list recurring"]
        print("notifier memory (VmRSS, its peak VmHWM, and RSS split: anonymous (heap), file-backed "
              "(libraries, mapped journal files)):", flush=True)
        show_memory("idle after start", *notifier_memory(sb))
        done, runs = 0, []
        while done < commands:
            sent = []
            for k in range(min(10, commands - done)):
                client, room = people[k % 2]
                text = texts[(done + k) % len(texts)]
                sent.append((client, room, text, client.send_text(room, text)))
            for client, room, text, event in sent:
                reply = client.wait_for_event(room, is_reply_to(event, bot), 60)
                if text == "run price" and "initiated" in reply["content"]["body"]:
                    runs.append((client, room, event))
            done += len(sent)
            if done % 250 == 0:
                for client, room, event in runs:
                    client.cursors[room] = 0
                    client.wait_for_event(room, lambda e: is_reply_to(event, bot)(e)
                                          and e["content"]["body"].startswith("Execution of"), 60)
                runs = []
                show_memory(f"after {done} commands", *notifier_memory(sb))
    finally:
        unconfigure(sb, original)


def notifier_cpu(sb):
    """The notifier's CPU time so far in seconds: (utime + stime from /proc/PID/stat,
    CPUUsageNSec or None when the container's cgroup accounting says nothing)."""
    pid = sb.notifier_property("MainPID")
    stat = sb.run("control", "cat", f"/proc/{pid}/stat")
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(sb.run("control", "getconf", "CLK_TCK"))
    usage = sb.notifier_property("CPUUsageNSec")
    return (int(fields[11]) + int(fields[12])) / ticks, int(usage) / 1e9 if usage.isdigit() else None


def monitor_results(sb, cursor):
    return [e for e in journal_json(sb, "--after-cursor", cursor)
            if e.get("SCHEDULER_EVENT") == "result" and e.get("SCHEDULER_MODE") == "monitor"]


def homeserver_alone(client, rooms, n, parallel):
    """Seconds the homeserver takes for n alert-sized m.notice messages (which the bot ignores)
    sent to rooms in turn, parallel requests at a time."""
    body = "🚨 Monitoring found problems on bench.test:\n" + "* 🟥 a check: cannot connect (help: …)\n" * 6
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda i: client.send_text(rooms[i % len(rooms)], body, "m.notice"), range(n)))
    return time.monotonic() - started


def burst(sb, customers, n_rooms):
    """Two rounds of every bench customer's real monitoring unit started at once. Their servers
    are not there (SSH port 1 refuses, their domains have no DNS records), so each ping fails
    within milliseconds with every check red: a real failing run at a cost 2 cores can take. The
    second failure in a row is an alert, sent to one of n_rooms rooms of alice's (each bench
    customer's room in the notifier's state, in turn, so the bot needs no 1,000 direct chats, yet
    has as many rooms to send to at once as that)."""
    bot = sb.env["BOT_USER"]
    alice, room = sb.customer_room("alice")
    rooms = [room]
    while len(rooms) < n_rooms:
        rooms.append(alice.create_room(invite=[bot], name=f"bench burst {len(rooms)}"))
        wait_membership(alice, rooms[-1], bot, "join")
    original = configure(sb, customers, 0, ssh_port=1)
    names = [f"bench{i:04d}" for i in range(customers - 2)]
    units = [f"scheduler-{name}-monitor.service" for name in names]
    try:
        restart_timed(sb, customers, 0)
        sb.run("control", "systemctl", "stop", "scheduler-notifier.service")
        path = os.path.join(sb.env["CONTROL_ROOT"], "var/lib/scheduler/state.json")
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        # The bot took each new room as alice's (acme's) when it joined: acme keeps its own.
        state["rooms"].update({name: rooms[i % len(rooms)] for i, name in enumerate(names)}, acme=room)
        # What monitoring remembers of an earlier run of this benchmark would hold the alerts back;
        # without it, the results of that run (after the last delivered result) must not be read again.
        # (In monitoring.json; in state.json's "alerts" before there was one.)
        for name in names:
            state.get("alerts", {}).pop(name, None)
        state["journal_cursor"] = sb.journal_cursor()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(state, f)
        monitoring_path = os.path.join(os.path.dirname(path), "monitoring.json")
        if os.path.exists(monitoring_path):
            with open(monitoring_path, encoding="utf-8") as f:
                monitoring = json.load(f)
            for name in names:
                monitoring["alerts"].pop(name, None)
            with open(monitoring_path, "w", encoding="utf-8") as f:
                json.dump(monitoring, f)
        cursor = sb.journal_cursor()
        sb.run("control", "systemctl", "start", "scheduler-notifier.service")
        # The notifier gives the new customers their monitoring units after its start: wait for all,
        # and for the end of that reconcile (a start's work, measured by `start`, not the burst's).
        while len(sb.run("control", "systemctl", "list-units", "--all", "--no-legend", "--plain",
                         "scheduler-bench*-monitor.timer").splitlines()) < len(names):
            time.sleep(1)
        print(f"the notifier: {wait_reconciled(sb, cursor)}", flush=True)
        watcher = Watcher(sb.client("alice"))
        print(f"monitoring burst: {len(units)} customers' monitoring units started at once, twice; "
              f"their alerts to {len(rooms)} rooms:", flush=True)
        for round_no in (1, 2):
            sb.run("control", "systemctl", "reset-failed", "scheduler-bench*", check=False)
            cursor = sb.journal_cursor()
            cpu_before = notifier_cpu(sb)
            started = time.monotonic()
            sb.run("control", "systemctl", "start", "--no-block", *units)
            while True:
                # Each customer's first result since the start (its timer may run it once more).
                entry = {}
                for e in monitor_results(sb, cursor):
                    entry.setdefault(e["SCHEDULER_CUSTOMER"], int(e["__MONOTONIC_TIMESTAMP"]) / 1e6)
                if all(name in entry for name in names):
                    break
                if time.monotonic() - started > 300:
                    raise TimeoutError(f"monitoring results of only {len(entry)} customers in 300 s")
                sb.run("control", "journalctl", "--sync")
            span = max(entry[name] for name in names) - started
            latencies = []
            if round_no == 2:
                alerts = {}
                deadline = time.monotonic() + 300
                while len(alerts) < len(names) and time.monotonic() < deadline:
                    with watcher.cond:
                        for t, e in watcher.seen.values():
                            body = e.get("content", {}).get("body", "")
                            if (t > started and e.get("sender") == bot
                                    and body.startswith("🚨 Monitoring found")):
                                domain = body.split(" on ", 1)[1].split(":", 1)[0]
                                alerts.setdefault(domain.removesuffix(".test"), t)
                        watcher.cond.wait(1)
                latencies = [alerts[name] - entry[name] for name in names if name in alerts]
                missing = [name for name in names if name not in alerts]
                if missing:
                    print(f"  no alert within 300 s for {len(missing)}: {' '.join(missing[:10])}",
                          flush=True)
            else:
                # Round one alerts no one; the notifier is done once it has saved what it saw of
                # every customer's run.
                while True:
                    try:
                        with open(monitoring_path, encoding="utf-8") as f:
                            remembered = json.load(f).get("alerts", {})
                    except FileNotFoundError:   # not written yet
                        remembered = {}
                    except ValueError:   # written anew (a rename) as we read: read again
                        continue
                    if all(name in remembered for name in names):
                        break
                    if time.monotonic() - started > 300:
                        raise TimeoutError("the notifier did not take in every monitoring result")
                    time.sleep(0.1)   # a poll of the file, not to eat the cores the notifier needs
            cpu_after = notifier_cpu(sb)
            cpu = cpu_after[0] - cpu_before[0]
            acct = (f", CPUUsageNSec {cpu_after[1] - cpu_before[1]:.2f} s" if cpu_after[1] is not None
                    and cpu_before[1] is not None else ", CPUUsageNSec not available (accounting off)")
            print(f"  round {round_no}: {len(names)} results within {span:.1f} s of the "
                  f"start; notifier CPU {cpu:.2f} s (utime+stime){acct}", flush=True)
            if latencies:
                show("result entry -> alert seen in the room", latencies)
        # The floor: the homeserver alone, taking as many messages from a plain client, as many at
        # once as the bot sends, with no pings holding the cores.
        took = homeserver_alone(sb.client("alice"), rooms, len(names), 8)
        print(f"  the homeserver alone: {len(names)} notices from a client, 8 at a time over "
              f"{len(rooms)} rooms, took {took:.1f} s ({len(names) / took:.0f} messages/s)", flush=True)
        watcher.stop = True
    finally:
        unconfigure(sb, original)


def main(env_path, what, args):
    sb = Sandbox(env_path)
    if what == "overhead":
        overhead(sb, int(args[0]) if args else 100)
    elif what == "memory":
        sizes = [int(a) for a in args] + [1000, 10000, 1000][len(args):]
        memory(sb, *sizes[:3])
    elif what == "start":
        sizes = [int(a) for a in args] + [1000, 10000][len(args):]
        start(sb, *sizes[:2])
    elif what == "burst":
        burst(sb, int(args[0]) if args else 1000, int(args[1]) if len(args) > 1 else 20)
    else:
        sys.exit(f"unknown benchmark {what!r}: overhead, memory, start or burst")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
