"""Schedules and recurrences as systemd timers, end to end: chat → store → timers in the real
systemd container → the task → the result in chat; and across reboots of that container.

Usage: /usr/bin/python3 tests/integration/test_schedules.py ENVFILE
"""

import datetime
import os
import subprocess
import sys

from harness import (SANDBOX, Sandbox, customer_result, edit_config, listed, restore_config, results_to,
                     run_tests, say, schedule_store, soon, timers, wait_reply)


def test_bad_dates_create_nothing(sb):
    before = (timers(sb), schedule_store(sb))
    for text, expected in (("schedule price 2001-01-01 10:00", "is in the past"),
                           ("schedule price 2027-02-30 10:00", "2027-02-30 10:00 does not exist in UTC"),
                           ("schedule price 2099-01-01 10:00", "at most 2 years ahead"),
                           ("schedule price 2027-1-1 10:00", "needs a date and a time"),
                           ("schedule price 2027-01-01 25:00", "needs a date and a time"),
                           ("recurring price Someday 10:00", "needs a weekday and a time"),
                           ("schedule restart 2027-01-08 17:00 sshd", "not a service I know"),
                           ("cancel price", "Nothing to cancel"),
                           ("pause price", "no recurring schedule of that command"),
                           ("resume maintenance", "not paused")):
        _, body = say(sb, text)
        assert expected in body, (text, body)
    assert (timers(sb), schedule_store(sb)) == before


def test_default_maintenance_from_boot(sb):
    _, body = say(sb, "list recurring")
    lines = body.splitlines()
    assert len(lines) == 1 and lines[0].endswith(": run maintenance"), lines
    # The weekly maintenance is #1, default or not.
    assert lines[0].startswith("* #1 "), lines
    weekly = [t for t in timers(sb) if "-maintenance-weekly-" in t]
    assert len(weekly) == 1, timers(sb)
    desc = sb.run("control", "systemctl", "show", "-P", "Description", weekly[0]).strip()
    assert desc.startswith("The Scheduler: recurring maintenance for acme, every "), desc


def test_schedule_fires_and_reports(sb):
    when = soon()
    event, body = say(sb, f"schedule price {when}")
    assert body == "Command scheduled.", body
    stem = "scheduler-acme-price-at-" + when.replace("-", "").replace(" ", "").replace(":", "")
    assert stem + ".timer" in timers(sb), timers(sb)
    assert f"[{stem}]" in schedule_store(sb)
    desc = sb.run("control", "systemctl", "show", "-P", "Description", stem + ".timer").strip()
    assert desc == f"The Scheduler: schedule price for acme, at {when} UTC", desc
    _, listing = say(sb, "list schedules")
    assert listed(listing, f"{when}: run price"), listing
    result = customer_result(sb, event, timeout_s=150)["content"]["body"]
    assert result.startswith("Execution of `run price` command successful"), result
    assert "ran late" not in result
    assert f"[{stem}]" not in schedule_store(sb), "a done one-shot stays in the store"
    _, listing = say(sb, "list schedules")
    assert f"{when}: run price" not in listing, listing


def test_recurring_replaces(sb):
    _, body = say(sb, "recurring price Friday 15:00")
    assert body == "Recurring schedule configured.", body
    _, body = say(sb, "recurring price mon 16:00")
    assert body == "Recurring schedule configured.", body
    price = [t for t in timers(sb) if "-price-weekly-" in t]
    assert price == ["scheduler-acme-price-weekly-mon-1600.timer"], price
    _, body = say(sb, "list recurring")
    assert listed(body, "Monday 16:00: run price"), body
    assert "Friday 15:00: run price" not in body, body
    _, listing = say(sb, "list schedules")
    assert any(line.endswith("16:00: run price (recurring)") for line in listing.splitlines()), listing


def test_recurring_maintenance_replaces_the_default(sb):
    _, body = say(sb, "recurring maintenance Friday 15:00")
    assert body == "Recurring schedule configured.", body
    weekly = [t for t in timers(sb) if "-maintenance-weekly-" in t]
    assert weekly == ["scheduler-acme-maintenance-weekly-fri-1500.timer"], weekly


def test_pause_resume_cancel(sb):
    _, body = say(sb, "pause maintenance")
    assert body.startswith("Paused `recurring maintenance` (every Friday 15:00)"), body
    assert not [t for t in timers(sb) if "-maintenance-weekly-" in t], timers(sb)
    _, body = say(sb, "list recurring")
    assert listed(body, "Friday 15:00: run maintenance (paused)") == 1, body
    _, body = say(sb, "resume maintenance")
    assert body == "Resumed `recurring maintenance` (every Friday 15:00).", body
    assert "scheduler-acme-maintenance-weekly-fri-1500.timer" in timers(sb)
    _, body = say(sb, "schedule restart 2027-06-01 04:00 slack")
    assert body == "Command scheduled.", body
    _, body = say(sb, "cancel restart 2027-06-01 04:00")
    assert body == "Cancelled `schedule restart slack` (at 2027-06-01 04:00).", body
    assert not [t for t in timers(sb) if "-restart-at-" in t], timers(sb)


def test_schedules_by_id(sb):
    """`list schedules` and `list recurring` show an id per entry; cancel, pause and resume take it
    ("4" or "#4"); an id is the customer's own, and outlives a restart of the notifier."""
    _, body = say(sb, "schedule disk 2027-07-01 08:00")
    assert body == "Command scheduled.", body
    _, body = say(sb, "recurring ping Tuesday 07:30")
    assert body == "Recurring schedule configured.", body
    _, body = say(sb, "schedule disk 2027-07-02 09:00", who="bob")
    assert body == "Command scheduled.", body
    once = listed(say(sb, "list schedules")[1], "2027-07-01 08:00: run disk")
    weekly = listed(say(sb, "list recurring")[1], "Tuesday 07:30: run ping")
    bobs = listed(say(sb, "list schedules", who="bob")[1], "2027-07-02 09:00: run disk")
    assert once and weekly and bobs and len({once, weekly, 1}) == 3, (once, weekly, bobs)
    sb.restart_notifier()
    assert listed(say(sb, "list schedules")[1], "2027-07-01 08:00: run disk") == once

    for text, expected in ((f"pause #{once}", f"#{once} is a one-shot: it can be cancelled, not paused"),
                           (f"pause {weekly}",
                            "Paused `recurring ping` (every Tuesday 07:30); `resume ping` brings it back.")):
        _, body = say(sb, text)
        assert body == expected, (text, body)
    assert listed(say(sb, "list recurring")[1], "Tuesday 07:30: run ping (paused)") == weekly
    for text, expected in ((f"resume #{weekly}", "Resumed `recurring ping` (every Tuesday 07:30)."),
                           (f"cancel {once}", "Cancelled `schedule disk` (at 2027-07-01 08:00)."),
                           (f"cancel #{once}", f"There is no schedule #{once}; see `list schedules`"),
                           (f"cancel {weekly}", "Cancelled `recurring ping` (every Tuesday 07:30).")):
        _, body = say(sb, text)
        assert body == expected, (text, body)
    assert not [t for t in timers(sb) if "-disk-at-" in t or "-ping-weekly-" in t], timers(sb)
    # bob's id, said by alice, finds nothing of bob's.
    say(sb, f"cancel {bobs}")
    assert listed(say(sb, "list schedules", who="bob")[1], "2027-07-02 09:00: run disk") == bobs
    _, body = say(sb, f"cancel {bobs}", who="bob")
    assert body == "Cancelled `schedule disk` (at 2027-07-02 09:00).", body


def test_other_customers_schedules_are_apart(sb):
    _, body = say(sb, "list schedules", who="bob")
    assert "price" not in body and "restart" not in body, body
    assert not [t for t in timers(sb, "globex") if "-price-" in t]


def test_customer_time_zone(sb):
    """globex is configured with timezone = Europe/Berlin: its dates and times are Berlin's."""
    _, body = say(sb, "schedule price 2027-01-08 17:00", who="bob")
    assert body == "Command scheduled.", body
    timer = "scheduler-globex-price-at-202701081700.timer"
    assert timer in timers(sb, "globex"), timers(sb, "globex")
    nxt = sb.run("control", "systemctl", "show", "-P", "NextElapseUSecRealtime", timer).strip()
    assert nxt == "Fri 2027-01-08 16:00:00 UTC", nxt
    desc = sb.run("control", "systemctl", "show", "-P", "Description", timer).strip()
    assert desc.endswith("at 2027-01-08 17:00 Europe/Berlin"), desc
    _, listing = say(sb, "list schedules", who="bob")
    assert listed(listing, "2027-01-08 17:00: run price"), listing
    _, body = say(sb, "schedule price 2027-03-28 02:30", who="bob")
    assert body == "2027-03-28 02:30 does not exist in Europe/Berlin", body
    _, body = say(sb, "schedule price 2001-01-01 10:00", who="bob")
    assert "Europe/Berlin is in the past; it is now " in body, body
    _, body = say(sb, "help", who="bob")
    assert "for a date and time (Europe/Berlin)" in body, body
    _, body = say(sb, "cancel price", who="bob")
    assert body == "Cancelled `schedule price` (at 2027-01-08 17:00).", body


def test_at_most_50_pending(sb):
    existing = schedule_store(sb).count("\n[")
    for i in range(50 - existing):
        _, body = say(sb, f"schedule disk 2027-03-{1 + i // 24:02d} {i % 24:02d}:00")
        assert body == "Command scheduled.", (i, body)
    before = timers(sb)
    _, body = say(sb, "schedule disk 2027-04-01 10:00")
    assert "50 pending schedules" in body, body
    assert timers(sb) == before
    for i in range(50 - existing):
        _, body = say(sb, f"cancel disk 2027-03-{1 + i // 24:02d} {i % 24:02d}:00")
        assert body.startswith("Cancelled"), body


def test_reboot_brings_everything_back(sb):
    client, room = sb.customer_room()
    _, before = say(sb, "list schedules")
    timers_before = timers(sb)
    results_before = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "cat", "--no-pager").count("\n")
    subprocess.run([SANDBOX, "reboot", "control", "--name", sb.name], check=True, capture_output=True)
    assert timers(sb) == timers_before, (timers_before, timers(sb))
    _, after = say(sb, "list schedules")
    assert after == before, (before, after)
    results_after = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "cat", "--no-pager").count("\n")
    assert results_after == results_before, "something ran at boot"


def test_notifier_start_restores_lost_timers(sb):
    before = timers(sb)
    assert before, "no timers to lose"
    for timer in before:
        sb.run("control", "systemctl", "stop", timer)
    assert timers(sb) == []
    sb.restart_notifier()
    client, room = sb.customer_room()
    marker = client.send_text(room, "help")
    wait_reply(client, room, marker, sb.env["BOT_USER"])   # the start's own work is done by now
    assert timers(sb) == before, (before, timers(sb))


def add_spare_customers(sb, count, schedules):
    """count customers (owners no one logs in as), configured before acme and globex so that the
    notifier reconciles theirs first, each with schedules one-shots in 2099 in its store; returns
    the config to put back (put_back_config())."""
    root = sb.env["CONTROL_ROOT"]
    names = [f"spare{i:03d}" for i in range(count)]

    def with_spares(text):
        host_key = next(line for line in text.splitlines() if line.startswith("ssh_known_host_key"))
        spare = "".join(f"[customer {name}]\nowners = @{name}:{sb.env['SERVER_NAME']}\n"
                        f"domain = {name}.test\nssh_host = 127.0.0.1\nssh_port = {sb.env['SSH_PORT']}\n"
                        f"ssh_user = root\n"
                        f"ssh_key_file = /etc/scheduler/secrets/acme.key\n{host_key}\n"
                        f"components = matrix\nmonitor = no\n\n" for name in names)
        first = text.index("[customer ")
        return text[:first] + spare + text[first:]

    original = edit_config(sb, with_spares)
    for c, name in enumerate(names):
        path = os.path.join(root, "etc/scheduler/schedules.d", name + ".conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(f"[s{j}]\ncommand = price\ndate = 2099-{j % 12 + 1:02d}-{c % 28 + 1:02d}\n"
                            f"time = {j:02d}:{c % 60:02d}\n\n" for j in range(schedules)))
    sb.run("control", "chown", "-R", "scheduler:scheduler", "/etc/scheduler/schedules.d")
    return original


def put_back_config(sb, original):
    sb.run("control", "sh", "-c", "rm -f /etc/scheduler/schedules.d/spare*.conf")
    restore_config(sb, original)
    sb.run("control", "systemctl", "stop", "scheduler-spare*")


def test_commands_after_start_come_before_reconcile(sb):
    """At its start the notifier gives systemd the timers it lacks, one op at a time while nothing
    else is to do: a command right after the start is answered before that is done, and a cancel
    that comes before the customer's turn is not undone by it."""
    when = "2027-05-01 10:00"
    timer = "scheduler-acme-disk-at-202705011000.timer"
    _, body = say(sb, f"schedule disk {when}")
    assert body == "Command scheduled.", body
    before = timers(sb)
    for lost in before:   # lost since the notifier last started: the reconcile is to bring them back
        sb.run("control", "systemctl", "stop", lost)
    original = add_spare_customers(sb, 100, 10)
    try:
        cursor = sb.journal_cursor()
        sb.restart_notifier()
        _, body = say(sb, f"cancel disk {when}")
        assert body == f"Cancelled `schedule disk` (at {when}).", body
        said = sb.notifier_said(cursor)
        assert "Reconciling the timers of 102 customers in the background." in said, said
        assert "Reconciled the timers" not in said, "the answer waited for the reconcile"
        said = sb.wait_notifier_said(cursor, "Reconciled the timers", timeout_s=600)
        assert "Reconciled the timers of 102 customers" in said, said
        assert timers(sb) == [t for t in before if t != timer], (before, timers(sb))
        spare = timers(sb, "spare*")
        assert len(spare) == 100 * (10 + 1), len(spare)   # and each one's default maintenance
    finally:
        put_back_config(sb, original)


def test_one_shot_missed_while_down_runs_once_after_boot(sb):
    when = soon()
    event, body = say(sb, f"schedule price {when}")
    assert body == "Command scheduled.", body
    due = datetime.datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=datetime.timezone.utc)
    down = max(0, (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 5
    env = dict(os.environ, SANDBOX_DOWN_SECONDS=str(int(down)))
    # The host is down across the due time: that is the scenario.
    subprocess.run([SANDBOX, "reboot", "control", "--name", sb.name], check=True, env=env,
                   capture_output=True)
    result = customer_result(sb, event, timeout_s=150)["content"]["body"]
    assert result.startswith("Execution of `run price` command successful"), result
    assert f"This ran late: it was due at {when} UTC" in result, result
    runs = results_to(sb, event)
    assert len(runs) == 1, runs
    assert "-price-at-" not in schedule_store(sb)


TESTS = [
    test_bad_dates_create_nothing,
    test_default_maintenance_from_boot,
    test_schedule_fires_and_reports,
    test_recurring_replaces,
    test_recurring_maintenance_replaces_the_default,
    test_pause_resume_cancel,
    test_schedules_by_id,
    test_other_customers_schedules_are_apart,
    test_customer_time_zone,
    test_at_most_50_pending,
    test_reboot_brings_everything_back,
    test_notifier_start_restores_lost_timers,
    test_commands_after_start_come_before_reconcile,
    test_one_shot_missed_while_down_runs_once_after_boot,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
