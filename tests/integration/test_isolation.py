"""Customers kept apart, command by command: bob (an owner of globex) can never run, list, cancel,
pause, resume or see anything of alice's (an owner of acme), not with her schedules' dates and
commands, not from her room. Checked as each customer sees it, and in systemd, the store, the
journal and the bot's state.

Usage: /usr/bin/python3 tests/integration/test_isolation.py ENVFILE
"""

import datetime
import json
import os
import sys

from harness import (Sandbox, customer_result, replies_to, results, run_tests, run_units, say, schedule_store,
                     wait_membership, wait_reply)
from matrix import API, q

# alice's schedules: far enough ahead that none fires during the tests.
ALICE_ONE_SHOTS = ("schedule price 2027-06-02 05:00", "schedule restart 2027-06-03 06:00 slack")
ALICE_RECURRING = ("recurring disk Wednesday 05:30", "recurring ping Thursday 06:45")
REFUSAL = "Sorry, I take commands only from the customers I serve."


def listed_timers(sb, customer):
    """The customer's waiting timers as `systemctl list-timers` shows them: unit, what it activates."""
    out = sb.run("control", "systemctl", "list-timers", "--no-legend", f"scheduler-{customer}-*")
    return sorted(tuple(line.split()[-2:]) for line in out.splitlines() if line.strip())


def state_rooms(sb):
    with open(os.path.join(sb.env["CONTROL_ROOT"], "var/lib/scheduler/state.json"), encoding="utf-8") as f:
        return json.load(f).get("rooms", {})


def listings(sb, who):
    return tuple(say(sb, f"list {what}", who)[1] for what in ("schedules", "recurring", "runs"))


def acme_as_seen(sb):
    """Everything of acme's schedules: alice's listings, systemd's timers, the store."""
    return (say(sb, "list schedules")[1], say(sb, "list recurring")[1], listed_timers(sb, "acme"),
            schedule_store(sb, "acme"))


def alice_schedules(sb):
    """alice's one-shots and recurring ones (ping paused), made once per run of this driver."""
    if not getattr(sb, "alice_scheduled", False):
        for text in ALICE_ONE_SHOTS:
            assert say(sb, text)[1] == "Command scheduled.", text
        for text in ALICE_RECURRING:
            assert say(sb, text)[1] == "Recurring schedule configured.", text
        assert say(sb, "pause ping")[1].startswith("Paused `recurring ping`")
        sb.alice_scheduled = True
    assert "scheduler-acme-disk-weekly-wed-0530.timer" in [t for t, _ in listed_timers(sb, "acme")]


def test_bob_lists_nothing_of_alices(sb):
    before = listings(sb, "bob")
    alice_schedules(sb)
    event, _ = say(sb, "run price")
    assert "$35" in customer_result(sb, event)["content"]["body"]
    _, alices_runs = say(sb, "list runs")
    assert alices_runs.splitlines()[0].endswith(": run price"), alices_runs
    after = listings(sb, "bob")
    assert after == before, (before, after)
    # (bob's own runs, from other drivers on this sandbox, may be listed: the equality above is
    # the check; alice's schedule times are hers alone.)
    for text in after:
        for alices in ("2027-06-02", "2027-06-03"):
            assert alices not in text, (alices, text)


def test_bob_cannot_cancel_pause_or_resume_alices(sb):
    alice_schedules(sb)
    acme, globex = acme_as_seen(sb), (listed_timers(sb, "globex"), schedule_store(sb, "globex"))
    for text, expected in (
            ("cancel price 2027-06-02 05:00", "There is no such one-shot to cancel; see `list schedules`"),
            ("cancel restart 2027-06-03 06:00", "There is no such one-shot to cancel; see `list schedules`"),
            ("cancel price", "Nothing to cancel: that command has no recurring schedule and no one-shot"),
            ("cancel restart", "Nothing to cancel: that command has no recurring schedule and no one-shot"),
            ("cancel disk", "Nothing to cancel: that command has no recurring schedule and no one-shot"),
            ("cancel ping", "Nothing to cancel: that command has no recurring schedule and no one-shot"),
            ("pause disk", "There is no recurring schedule of that command; see `list recurring`"),
            ("resume ping", "There is no recurring schedule of that command; see `list recurring`")):
        _, body = say(sb, text, "bob")
        assert body == expected, (text, body)
    assert acme_as_seen(sb) == acme
    assert (listed_timers(sb, "globex"), schedule_store(sb, "globex")) == globex


def test_bobs_maintenance_commands_are_globexs(sb):
    """Both customers have a weekly maintenance: bob's pause and resume act on globex's only."""
    acme = acme_as_seen(sb)
    _, body = say(sb, "pause maintenance", "bob")
    assert body.startswith("Paused `recurring maintenance`"), body
    globex = listed_timers(sb, "globex")
    assert not [t for t, _ in globex if "-maintenance-weekly-" in t], globex
    assert acme_as_seen(sb) == acme
    _, body = say(sb, "resume maintenance", "bob")
    assert body.startswith("Resumed `recurring maintenance`"), body
    assert acme_as_seen(sb) == acme


def test_bobs_schedules_with_alices_times_are_globexs(sb):
    alice_schedules(sb)
    acme = acme_as_seen(sb)
    _, body = say(sb, "schedule price 2027-06-02 05:00", "bob")
    assert body == "Command scheduled.", body
    stem = "scheduler-globex-price-at-202706020500"
    assert (stem + ".timer", stem + ".service") in listed_timers(sb, "globex"), listed_timers(sb, "globex")
    _, body = say(sb, "recurring disk Wednesday 05:30", "bob")
    assert body == "Recurring schedule configured.", body
    assert "scheduler-globex-disk-weekly-wed-0530.timer" in [t for t, _ in listed_timers(sb, "globex")]
    assert acme_as_seen(sb) == acme
    _, body = say(sb, "cancel price 2027-06-02 05:00", "bob")
    assert body == "Cancelled `schedule price` (at 2027-06-02 05:00).", body
    _, body = say(sb, "cancel disk", "bob")
    assert body == "Cancelled `recurring disk` (every Wednesday 05:30).", body
    assert not [t for t, _ in listed_timers(sb, "globex") if "-price-at-2027060205" in t or "-disk-weekly-" in t]
    assert acme_as_seen(sb) == acme


def test_bobs_help_and_branch_are_globexs(sb):
    _, body = say(sb, "branch", "bob")
    assert "`fresh`" in body and "`stable`" not in body.split(":")[0], body
    _, body = say(sb, "branch")
    assert body.startswith("Your server is on the `stable` stability branch"), body
    _, body = say(sb, "help", "bob")
    assert "(Europe/Berlin)" in body, body
    _, body = say(sb, "help")
    assert "Europe/Berlin" not in body, body


def test_bobs_runs_run_for_globex(sb):
    _, bobs_room = sb.customer_room("bob")
    acme_results = len(results(sb, "SCHEDULER_CUSTOMER=acme"))
    for text, expected in (("run price", "The total price for your server is $13"),
                           ("run disk", f"INFO [{sb.env['GLOBEX_DOMAIN']}] disk usage: "),
                           ("run ping", f"INFO [{sb.env['GLOBEX_DOMAIN']}] disk usage: "),
                           ("run restart slack", "active")):
        event, _ = say(sb, text, "bob")
        body = customer_result(sb, event, "bob")["content"]["body"]
        assert body.startswith(f"Execution of `{text}` command successful"), body
        assert expected in body and f"[{sb.env['ACME_DOMAIN']}]" not in body, (text, body)
        entries = results(sb, f"SCHEDULER_REPLY_TO={event}")
        assert len(entries) == 1, entries
        entry = entries[0]
        assert entry["SCHEDULER_CUSTOMER"] == "globex", entry
        unit = entry.get("_SYSTEMD_UNIT", entry.get("UNIT", ""))
        assert unit.startswith(f"scheduler-globex-{text.split()[1]}-run-"), entry
        assert entry["SCHEDULER_ROOM"] == bobs_room, entry
    assert len(results(sb, "SCHEDULER_CUSTOMER=acme")) == acme_results, "bob's runs made acme results"


def bot_events_after(client, room, start):
    return [e for e in client.timelines.get(room, [])[start:] if e.get("sender") != client.user_id]


def test_alices_results_are_posted_only_in_her_room(sb):
    alice, alices_room = sb.customer_room("alice")
    bob, bobs_room = sb.customer_room("bob")
    bob.skip_to_end(bobs_room)
    start = len(bob.timelines.get(bobs_room, []))
    event, _ = say(sb, "run disk")
    assert customer_result(sb, event)["content"]["body"].startswith("Execution of `run disk` command successful")
    # A one-shot a minute or two ahead: its result goes where it was scheduled, when no one is asking.
    now = datetime.datetime.now(datetime.timezone.utc)
    when = (now + datetime.timedelta(minutes=1, seconds=30)).replace(second=0, microsecond=0)
    when = when.strftime("%Y-%m-%d %H:%M")
    scheduled, body = say(sb, f"schedule price {when}")
    assert body == "Command scheduled.", body
    result = customer_result(sb, scheduled, timeout_s=180)["content"]["body"]
    assert result.startswith("Execution of `run price` command successful"), result
    for ev in (event, scheduled):
        entries = results(sb, f"SCHEDULER_REPLY_TO={ev}")
        assert [(e["SCHEDULER_CUSTOMER"], e["SCHEDULER_ROOM"]) for e in entries] == [("acme", alices_room)]
    marker = bob.send_text(bobs_room, "help")
    wait_reply(bob, bobs_room, marker, sb.env["BOT_USER"])
    seen = bot_events_after(bob, bobs_room, start)
    assert [e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            for e in seen if e["type"] == "m.room.message"] == [marker], seen


# Every form of the grammar, each worded as if it were alice's.
EVERY_COMMAND = ("help", "branch", "run ping", "run disk", "run price", "run maintenance",
                 "run restart slack", "schedule price 2027-06-04 07:00",
                 "schedule restart 2027-06-04 07:00 slack", "recurring maintenance Monday 01:00",
                 "list runs", "list schedules", "list recurring", "cancel price 2027-06-02 05:00",
                 "cancel restart", "cancel disk", "pause disk", "pause maintenance", "resume ping",
                 "resume maintenance")


def test_bob_in_alices_room_is_a_stranger(sb):
    alice_schedules(sb)
    alice, room = sb.customer_room("alice")
    bot = sb.env["BOT_USER"]
    alice.invite(room, sb.env["BOB_USER"])
    bob = sb.client("bob")
    bob.join(room)
    wait_membership(alice, room, sb.env["BOB_USER"], "join")
    before = (acme_as_seen(sb), listed_timers(sb, "globex"), schedule_store(sb, "globex"), run_units(sb),
              len(results(sb)))
    rooms = state_rooms(sb)
    try:
        sent = [bob.send_text(room, text) for text in EVERY_COMMAND]
        # The bot answers in order: once alice's later command is answered, bob's have been handled.
        marker = alice.send_text(room, "help")
        wait_reply(alice, room, marker, bot)
        answers = [replies_to(alice, room, event, bot) for event in sent]
        assert len(answers[0]) == 1 and answers[0][0]["content"]["body"].startswith(REFUSAL), answers[0]
        assert all(a == [] for a in answers[1:]), [a for a in answers[1:] if a]
        assert state_rooms(sb) == rooms, (rooms, state_rooms(sb))
        after = (acme_as_seen(sb), listed_timers(sb, "globex"), schedule_store(sb, "globex"), run_units(sb),
                 len(results(sb)))
        assert after == before, (before, after)
    finally:
        bob.request("POST", f"{API}/rooms/{q(room)}/leave", {})
    # alice is still served in her room, and bob in his.
    _, body = say(sb, "branch")
    assert "`stable`" in body, body
    _, body = say(sb, "branch", "bob")
    assert "`fresh`" in body, body


TESTS = [
    test_bob_lists_nothing_of_alices,
    test_bob_cannot_cancel_pause_or_resume_alices,
    test_bobs_maintenance_commands_are_globexs,
    test_bobs_schedules_with_alices_times_are_globexs,
    test_bobs_help_and_branch_are_globexs,
    test_bobs_runs_run_for_globex,
    test_alices_results_are_posted_only_in_her_room,
    test_bob_in_alices_room_is_a_stranger,
]


def clean_up(sb):
    """Leaves the sandbox as it was for the drivers after this one."""
    if getattr(sb, "alice_scheduled", False):
        for text in ALICE_ONE_SHOTS:
            say(sb, "cancel " + " ".join(text.split()[1:4]))
        for text in ALICE_RECURRING:
            say(sb, "cancel " + text.split()[1])
    for text in ("cancel price 2027-06-02 05:00", "cancel disk"):
        say(sb, text, "bob")


if __name__ == "__main__":
    sandbox = Sandbox(sys.argv[1])
    status = run_tests(TESTS, sandbox)
    clean_up(sandbox)
    sys.exit(status)
