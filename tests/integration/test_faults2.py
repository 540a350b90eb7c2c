"""More faults the bot must ride out, each with its figure printed: the scheduler's host rebooted
while a maintenance runs (the customer told once that it was interrupted, schedules and alert
state back); the state and schedules dirs full (a clear error, nothing lost or half-written, and
all well once there is room again); the customer's host key changed (a clear failure, others
answered meanwhile); the homeserver away while 20 runs finish (every result delivered once).

Usage: /usr/bin/python3 tests/integration/test_faults2.py ENVFILE
"""

import json
import os
import subprocess
import sys
import time

from harness import SANDBOX, Sandbox, replies_to, run_tests, wait_reply
from test_alerts import monitoring_run
from test_maintenance import BRANCHES, PLAYBOOK
from test_monitor import edit_config, restore_config, restart_notifier, wait_for
from test_run import INITIATED, result_of
from test_schedules import store, timers


def say(sb, text, who="alice"):
    client, room = sb.customer_room(who)
    event = client.send_text(room, text)
    return event, wait_reply(client, room, event, sb.env["BOT_USER"], timeout_s=60)["content"]["body"]


def state(sb):
    with open(os.path.join(sb.env["CONTROL_ROOT"], "var/lib/scheduler/state.json"), encoding="utf-8") as f:
        return json.load(f)


def results_to(sb, event, who="alice"):
    """The bot's "Execution of …" replies to one command, after a marker command was answered (so
    any second one would have come by now)."""
    client, room = sb.customer_room(who)
    say(sb, "help", who)
    return [e["content"]["body"] for e in replies_to(client, room, event, sb.env["BOT_USER"])
            if e["content"]["body"].startswith("Execution of")]


def test_a_reboot_during_maintenance_is_told_once_and_nothing_is_lost(sb):
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    path = os.path.join(sb.env["CONTROL_ROOT"], "usr/local/bin/fake-playbook")
    with open(path, "w", encoding="utf-8") as f:
        f.write(PLAYBOOK)
    os.chmod(path, 0o755)
    go = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler/fake-playbook.go")
    if os.path.exists(go):
        os.remove(go)
    when = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    config = edit_config(sb, lambda t: t + BRANCHES)
    try:
        restart_notifier(sb)
        # Something to lose: a one-shot, a weekly one, and monitoring's memory of a failing check.
        assert say(sb, f"schedule price {when} 10:00")[1] == "Command scheduled."
        assert say(sb, "recurring disk Monday 07:30")[1] == "Recurring schedule configured."
        sb.run("customer", "systemctl", "stop", "matrix-nginx-proxy.service")
        try:
            monitoring_run(sb, "acme")
        finally:
            sb.run("customer", "systemctl", "start", "matrix-nginx-proxy.service")
        listing_before, timers_before, store_before = say(sb, "list schedules")[1], timers(sb), store(sb)
        alerts_before = state(sb)["alerts"]
        assert alerts_before.get("acme"), alerts_before

        event = client.send_text(room, "run maintenance")
        first = wait_reply(client, room, event, bot)["content"]["body"]
        assert first == INITIATED, first
        # The run has begun (its start entry is written) when the host goes down.
        wait_for("the maintenance's start entry", lambda: sb.run(
            "journal", "SCHEDULER_EVENT=start", f"SCHEDULER_REPLY_TO={event}", "-o", "cat", "--no-pager"), 60)
        start = time.monotonic()
        subprocess.run([SANDBOX, "reboot", "control", "--name", sb.name], check=True, capture_output=True)
        told = result_of(client, room, event, bot, 120)["content"]["body"]
        took = time.monotonic() - start
        assert told.startswith("Execution of `run maintenance` command failed: interrupted: the server "
                               "running The Scheduler restarted while it ran"), told
        # Once, also when the notifier starts again in this boot.
        restart_notifier(sb)
        results = results_to(sb, event)
        listing_after, timers_after, store_after = say(sb, "list schedules")[1], timers(sb), store(sb)
        alerts_after = state(sb)["alerts"]
        print(f"    reboot during `run maintenance`: told it was interrupted {took:.0f} s after the reboot "
              f"began, {len(results)} message(s); {len(timers_after)} of {len(timers_before)} timers and "
              f"{len(listing_after.splitlines())} of {len(listing_before.splitlines())} schedule lines back, "
              f"alert state {'equal' if alerts_after == alerts_before else 'CHANGED'}", flush=True)
        assert results == [told], results
        assert listing_after == listing_before, (listing_before, listing_after)
        assert timers_after == timers_before, (timers_before, timers_after)
        assert store_after == store_before
        assert alerts_after == alerts_before, (alerts_before, alerts_after)
        runs = say(sb, "list runs")[1].splitlines()
        assert "run maintenance failed: interrupted" in runs[0], runs
    finally:
        restore_config(sb, config)
        say(sb, f"cancel price {when} 10:00")
        say(sb, "cancel disk")


if __name__ == "__main__":
    sys.exit(run_tests([test_a_reboot_during_maintenance_is_told_once_and_nothing_is_lost],
                       Sandbox(sys.argv[1])))
