"""Outages the bot must ride out, each with its figure printed: the scheduler's host rebooted
while a maintenance and a short run run (each customer told once that it was interrupted,
schedules and alert state back); the state and schedules dirs full (a clear error, nothing lost
or half-written, and all well once there is room again); the customer's host key changed (a clear
failure, others answered meanwhile); the homeserver away while 20 runs finish (every result
delivered once); the journal rotated between runs (each result once).

Usage: /usr/bin/python3 tests/integration/test_outages.py ENVFILE
"""

import datetime
import json
import os
import re
import subprocess
import sys
import time
import zoneinfo

from harness import (INITIATED, SANDBOX, Sandbox, bot_answers, bot_history, edit_config, monitoring_memory,
                     monitoring_run, register, replied_to, restore_config, result_of, results_to, run_tests,
                     saved_memory, say, schedule_store, silent_listener, soon, timers, wait_for, wait_membership,
                     wait_reply)
from matrix import Client
import playbook
from playbook import BRANCHES


def silence_globex(text, port):
    """The configuration with globex's ssh_port set to port."""
    head, section, rest = text.partition("[customer globex]")
    return head + section + re.sub(r"ssh_port = \d+", f"ssh_port = {port}", rest, count=1)


def wait_started(sb, event):
    """Until the run answering event has written its start entry."""
    wait_for(f"the start entry of the run for {event}", lambda: sb.run(
        "journal", "SCHEDULER_EVENT=start", f"SCHEDULER_REPLY_TO={event}", "-o", "cat", "--no-pager"), 60)


def test_a_reboot_during_runs_is_told_once_and_nothing_is_lost(sb):
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    bob, bob_room = sb.customer_room("bob")
    listener = silent_listener()
    playbook.install(sb)
    when = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    # bob's `run disk` hangs on a silent sshd for its 15 s handshake bound: a short run the reboot cuts.
    config = edit_config(sb, lambda t: silence_globex(t, listener.getsockname()[1]) + BRANCHES)
    try:
        sb.restart_notifier()
        # Something to lose: a one-shot, a weekly one, and monitoring's memory of a failing check.
        assert say(sb, f"schedule price {when} 10:00", timeout_s=60)[1] == "Command scheduled."
        assert say(sb, "recurring disk Monday 07:30", timeout_s=60)[1] == "Recurring schedule configured."
        sb.run("customer", "systemctl", "stop", "matrix-nginx-proxy.service")
        try:
            monitoring_run(sb, "acme")
        finally:
            sb.run("customer", "systemctl", "start", "matrix-nginx-proxy.service")
        listing_before = say(sb, "list schedules", timeout_s=60)[1]
        timers_before, store_before = timers(sb), schedule_store(sb)
        alerts_before = saved_memory(sb, "acme")
        assert alerts_before.get("acme"), alerts_before

        event = client.send_text(room, "run maintenance")
        first = wait_reply(client, room, event, bot)["content"]["body"]
        assert first == INITIATED, first
        # The runs have begun (their start entries are written) when the host goes down.
        wait_started(sb, event)
        disk = bob.send_text(bob_room, "run disk")
        wait_reply(bob, bob_room, disk, bot)
        wait_started(sb, disk)
        start = time.monotonic()
        subprocess.run([SANDBOX, "reboot", "control", "--name", sb.name], check=True, capture_output=True)
        told = result_of(client, room, event, bot, 120)["content"]["body"]
        took = time.monotonic() - start
        assert told.startswith("Execution of `run maintenance` command failed: interrupted: the server "
                               "running The Scheduler restarted while it ran"), told
        bob_told = result_of(bob, bob_room, disk, bot, 120)["content"]["body"]
        assert bob_told.startswith("Execution of `run disk` command failed: interrupted: the server "
                                   "running The Scheduler restarted while it ran"), bob_told
        # Once, also when the notifier starts again in this boot.
        sb.restart_notifier()
        results, bob_results = results_to(sb, event), results_to(sb, disk, "bob")
        listing_after = say(sb, "list schedules", timeout_s=60)[1]
        timers_after, store_after = timers(sb), schedule_store(sb)
        alerts_after = monitoring_memory(sb)
        print(f"    reboot during `run maintenance` and bob's `run disk`: told it was interrupted "
              f"{took:.0f} s after the reboot began, {len(results)} and {len(bob_results)} message(s); "
              f"{len(timers_after)} of {len(timers_before)} timers and "
              f"{len(listing_after.splitlines())} of {len(listing_before.splitlines())} schedule lines "
              f"back, "
              f"alert state {'equal' if alerts_after == alerts_before else 'CHANGED'}", flush=True)
        assert results == [told], results
        assert bob_results == [bob_told], bob_results
        assert listing_after == listing_before, (listing_before, listing_after)
        assert timers_after == timers_before, (timers_before, timers_after)
        assert store_after == store_before
        assert alerts_after == alerts_before, (alerts_before, alerts_after)
        runs = say(sb, "list runs", timeout_s=60)[1].splitlines()
        assert "run maintenance failed: interrupted" in runs[0], runs
    finally:
        listener.close()
        restore_config(sb, config)
        say(sb, f"cancel price {when} 10:00", timeout_s=60)
        say(sb, "cancel disk", timeout_s=60)


def day(ahead):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + ahead * 86400))


def control_sh(sb, script):
    return sb.run("control", "sh", "-ec", script)


def tiny_tmpfs(sb, path):
    """A tmpfs over path in the control container, owned and moded as the dir is (whoever the
    notifier runs as), holding what the dir held, with a little room to spare; the notifier is
    restarted so its mount namespace has it."""
    control_sh(sb, f"""d={path}; keep=/run/outages$(echo $d | tr / -)
rm -rf "$keep"; cp -a "$d" "$keep"
mount -t tmpfs -o size=$(( $(du -sk "$d" | cut -f1) + 256 ))k,uid=$(stat -c %u "$d"),\
gid=$(stat -c %g "$d"),mode=$(stat -c %a "$d") outages "$d"
cp -a "$keep"/. "$d"/; rm -rf "$keep"
""")
    sb.restart_notifier()


def fill(sb, path):
    """Takes the last free byte of the tmpfs at path; returns how much that was, in KiB."""
    control_sh(sb, f"dd if=/dev/zero of={path}/zz-filler bs=1k status=none 2>/dev/null || true")
    return int(control_sh(sb, f"du -sk {path}/zz-filler | cut -f1"))


def unfill(sb, path):
    sb.run("control", "rm", "-f", f"{path}/zz-filler")


def drop_tmpfs(sb, path):
    """What the tmpfs holds goes back to the dir under it; the notifier stopped meanwhile."""
    sb.run("control", "systemctl", "stop", "scheduler-notifier.service")
    control_sh(sb, f"""d={path}; keep=/run/outages$(echo $d | tr / -)
rm -f "$d/zz-filler"; rm -rf "$keep"; cp -a "$d" "$keep"
umount "$d"; cp -a "$keep"/. "$d"/; rm -rf "$keep"
""")
    sb.run("control", "systemctl", "reset-failed", "scheduler-notifier.service", check=False)
    sb.restart_notifier()


def control_files(sb, path):
    """name → content of each file in path, as the notifier sees it (inside the container)."""
    names = sb.run("control", "ls", "-A", path).split()
    return {n: sb.run("control", "cat", f"{path}/{n}") for n in names if n != "zz-filler"}


def while_full(sb, path, cursor):
    """The files in path, what the notifier said since cursor, and its lines about the full disk."""
    said = sb.notifier_said(cursor)
    return (control_files(sb, path), said,
            [line for line in said.splitlines() if "No space left on device" in line])


FULL = " because our server is out of disk space, so nothing {}; we have been told. Please try again later."


def test_a_full_schedules_dir_loses_nothing_and_says_so(sb):
    d = "/etc/scheduler/schedules.d"
    first, second = day(40), day(41)
    assert say(sb, f"schedule price {first} 10:00", timeout_s=60)[1] == "Command scheduled."
    listing_before, timers_before = say(sb, "list schedules", timeout_s=60)[1], timers(sb)
    tiny_tmpfs(sb, d)
    try:
        files_before = control_files(sb, d)
        assert f"date = {first}" in files_before["acme.conf"], files_before
        spare = fill(sb, d)
        cursor = sb.journal_cursor()
        texts = (f"schedule price {second} 11:00", f"cancel price {first} 10:00",
                 "recurring ping Tuesday 08:00", "pause maintenance")
        answers = [say(sb, text, timeout_s=60)[1] for text in texts]
        files_after, said, errors = while_full(sb, d, cursor)
        size = len(files_before["acme.conf"])
        print(f"    schedules dir full ({spare} KiB taken): {len(answers)} changes refused, the store "
              f"{'unchanged' if files_after == files_before else 'CHANGED'} ({size} bytes), "
              f"{len(errors)} error lines for the operator", flush=True)
        for answer, nothing in zip(answers, ("was scheduled", "was cancelled", "was scheduled", "changed")):
            assert answer == "Your schedules could not be saved" + FULL.format(nothing), answer
        assert files_after == files_before, (files_before, files_after)
        assert f"Failed to save the schedules of acme to {d}: No space left on device" in said, said
        assert len(errors) == len(answers), errors
        assert say(sb, "list schedules", timeout_s=60)[1] == listing_before
        assert timers(sb) == timers_before

        unfill(sb, d)
        assert say(sb, f"schedule price {second} 11:00", timeout_s=60)[1] == "Command scheduled."
        store = control_files(sb, d)["acme.conf"]
        assert f"date = {first}" in store and f"date = {second}" in store, store
        listing = say(sb, "list schedules", timeout_s=60)[1]
        assert f"{first} 10:00" in listing and f"{second} 11:00" in listing, listing
    finally:
        drop_tmpfs(sb, d)
        say(sb, f"cancel price {first} 10:00", timeout_s=60)
        say(sb, f"cancel price {second} 11:00", timeout_s=60)


def test_a_full_state_dir_loses_nothing(sb):
    d = "/var/lib/scheduler"
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    tiny_tmpfs(sb, d)
    try:
        spare = fill(sb, d)
        before = control_files(sb, d)
        cursor = sb.journal_cursor()
        event = client.send_text(room, "run price")
        assert wait_reply(client, room, event, bot)["content"]["body"] == INITIATED
        result = result_of(client, room, event, bot, 60)["content"]["body"]
        assert result.startswith("Execution of `run price` command successful"), result
        assert say(sb, "list runs", timeout_s=60)[1].startswith("* "), "list runs"
        after, said, errors = while_full(sb, d, cursor)
        print(f"    state dir full ({spare} KiB taken): `run price` answered and its result delivered, "
              f"state.json {'unchanged' if after == before else 'CHANGED'}, {len(errors)} error lines for "
              f"the operator", flush=True)
        assert after == before, sorted(after)
        json.loads(after["state.json"])
        assert errors, said
        assert "Failed to save the journal position, continuing: No space left on device" in said, said

        # Room again: the next save writes what was kept in memory, and a restart repeats nothing.
        unfill(sb, d)
        say(sb, "help", timeout_s=60)
        saved = json.loads(control_files(sb, d)["state.json"])
        assert saved["since"] != json.loads(before["state.json"])["since"]
        sb.restart_notifier()
        assert results_to(sb, event) == [result]
    finally:
        drop_tmpfs(sb, d)


def set_host_key(sb, private):
    """The customer's sshd with this host key, restarted."""
    dest = os.path.join(sb.env["CUSTOMER_ROOT"], "etc/ssh/ssh_host_ed25519_key")
    for suffix, mode in (("", 0o600), (".pub", 0o644)):
        with open(private + suffix, "rb") as f, open(dest + suffix, "wb") as out:
            out.write(f.read())
        os.chmod(dest + suffix, mode)
    sb.run("customer", "systemctl", "restart", "ssh.service")


def bob_waits(sb, n=3):
    """How long bob waits for the answer to `help`, n times in a row, in seconds."""
    bob, room = sb.customer_room("bob")
    waits = []
    for _ in range(n):
        t0 = time.monotonic()
        wait_reply(bob, room, bob.send_text(room, "help"), sb.env["BOT_USER"])
        waits.append(time.monotonic() - t0)
    return waits


def test_a_changed_host_key_fails_clearly_and_others_are_answered(sb):
    bot = sb.env["BOT_USER"]
    alice, room = sb.customer_room("alice")
    new = os.path.join(sb.env["SANDBOX_RUN"], "outages-new-host-key")
    if os.path.exists(new):
        os.remove(new)
        os.remove(new + ".pub")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", new], check=True)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", new + ".pub"], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
    set_host_key(sb, new)
    try:
        start = time.monotonic()
        commands = {text: alice.send_text(room, text) for text in ("run disk", "run ping")}
        waits = bob_waits(sb)
        results = {text: result_of(alice, room, event, bot, 120)["content"]["body"]
                   for text, event in commands.items()}
        took = time.monotonic() - start
        print(f"    `run disk` and `run ping` against a changed host key: both reported in {took:.1f} s; "
              f"bob meanwhile answered in {', '.join(f'{w * 1000:.0f}' for w in waits)} ms", flush=True)
        mismatch = (f"the host key of 127.0.0.1:{sb.env['SSH_PORT']} does not match the configured one "
                    f"(the server presents ssh-ed25519 {fingerprint}); refusing to connect, as this may be "
                    f"an attack")
        advice = "the operator should compare this key with the server's own and update ssh_known_host_key"
        for text, body in results.items():
            assert mismatch in body and advice in body, (text, body)
        assert results["run disk"].startswith("Execution of `run disk` command failed: " + mismatch), results
        assert took < 60, f"{took:.0f} s: a mismatch needs no timeout"
    finally:
        set_host_key(sb, os.path.join(sb.env["SANDBOX_RUN"], "customer/host_key"))
    event = alice.send_text(room, "run disk")
    body = result_of(alice, room, event, bot, 120)["content"]["body"]
    assert body.startswith("Execution of `run disk` command successful"), body


OUTAGE_S = 60
# What each customer schedules for the same minute: five kinds, each its own unit.
KINDS = ("price {}", "disk {}", "ping {}", "restart {} slack", "maintenance {}")


def extra_customer(sb, name, like, owner):
    """A [customer NAME] section made from customer like's, for owner."""
    with open(sb.env["CONTROL_CONFIG"], encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"[customer {like}]\n")
    end = text.find("\n[", start + 1)
    section = text[start:] if end < 0 else text[start:end + 1]
    old_owner = sb.env["ALICE_USER"] if like == "acme" else sb.env["BOB_USER"]
    return "\n" + section.replace(f"[customer {like}]", f"[customer {name}]").replace(old_owner, owner)


def bot_results(client, room, bot, events):
    """event → the bodies of the bot's "Execution of" replies to it, from the room's history."""
    return {event: [b for b in bodies if b.startswith("Execution of")]
            for event, bodies in bot_answers(client, room, bot, events).items()}


def test_results_finished_while_synapse_is_away_are_delivered_once(sb):
    bot = sb.env["BOT_USER"]
    suffix = os.urandom(3).hex()
    # (client, room, time zone): acme's and globex's owners, and one more customer like each.
    people = [(*sb.customer_room("alice"), "UTC"), (*sb.customer_room("bob"), "Europe/Berlin")]
    extra = ""
    for who, like, zone in (("dave", "acme", "UTC"), ("erin", "globex", "Europe/Berlin")):
        user = register(sb, f"{who}-{suffix}", f"{who}-password")
        extra += extra_customer(sb, f"{who}-{suffix}", like, user)
        people.append((Client(sb.env["HS_URL"], user, f"{who}-password").login(), None, zone))
    playbook.install(sb, go=True)   # the playbook ends at once
    config = edit_config(sb, lambda t: t.rstrip("\n") + "\n" + extra + BRANCHES)
    away = False
    try:
        sb.restart_notifier()
        for i, (client, room, zone) in enumerate(people):
            if room is None:
                room = client.create_room(invite=[bot], name="a customer and the scheduler")
                wait_membership(client, room, bot, "join")
                people[i] = (client, room, zone)
        due = datetime.datetime.strptime(soon(), "%Y-%m-%d %H:%M").replace(tzinfo=datetime.timezone.utc)
        events = []
        for client, room, zone in people:
            when = due.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
            for kind in KINDS:
                event = client.send_text(room, "schedule " + kind.format(when))
                assert wait_reply(client, room, event, bot)["content"]["body"] == "Command scheduled.", kind
                events.append((room, event))
        tasks = len(events)

        def finished():
            out = sb.run("journal", "SCHEDULER_EVENT=result", "SCHEDULER_MODE=schedule",
                         f"--since=@{int(due.timestamp()) - 1}", "-o", "cat", "--no-pager")
            return len(out.splitlines()) >= tasks

        sb.run("synapse", "stop")
        away, down = True, time.monotonic()
        assert time.time() < due.timestamp(), "the tasks were due before the homeserver went away"
        wait_for(f"{tasks} results in the journal", finished, 240)
        finished_at = time.monotonic() - down
        # Away for OUTAGE_S in all: the bot's back-off grows to its longest meanwhile.
        while time.monotonic() - down < OUTAGE_S:
            time.sleep(0.5)
        sb.run("synapse", "start")
        away, back = False, time.monotonic()
        outage = back - down

        def delivered():
            counts = {}
            for client, room, _ in people:
                counts.update(bot_results(client, room, bot, [e for r, e in events if r == room]))
            return counts if all(counts.values()) else None
        wait_for("every result in its room", delivered, 120)
        took = time.monotonic() - back
        for client, room, _ in people:
            say_in(client, room, bot, "help")   # anything still queued would have come before this
        counts = delivered()
        results = sum(len(v) for v in counts.values())
        duplicates = sum(len(v) - 1 for v in counts.values() if len(v) > 1)
        print(f"    Synapse away {outage:.0f} s while {tasks} scheduled tasks finished (the last "
              f"{finished_at:.0f} s after the stop): {results} results delivered, {duplicates} duplicates, "
              f"all within {took:.1f} s of its return", flush=True)
        assert results == tasks and duplicates == 0, counts
        # Rooms are served side by side, each in the order its results were written.
        written = [json.loads(line)["SCHEDULER_REPLY_TO"] for line in sb.run(
            "journal", "SCHEDULER_EVENT=result", "SCHEDULER_MODE=schedule",
            f"--since=@{int(due.timestamp()) - 1}", "-o", "json", "--no-pager").splitlines() if line.strip()]
        for client, room, _ in people:
            mine = {e for r, e in events if r == room}
            told = [replied_to(e) for e in bot_history(client, room, bot)
                    if replied_to(e) in mine and e["content"]["body"].startswith("Execution of")]
            assert told == [e for e in written if e in mine], (room, told, written)
    finally:
        if away:
            sb.run("synapse", "start")
        for who in ("dave", "erin"):
            sb.run("control", "systemctl", "stop", f"scheduler-{who}-{suffix}-*.timer", check=False)
        restore_config(sb, config)


def test_a_journal_rotation_repeats_and_loses_nothing(sb):
    # The notifier opens the journal anew when its files change (and every 100 of its entries):
    # results from before and after a rotation each come once, also after a restart.
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    events = []
    for rotate in (True, True, False):
        event = client.send_text(room, "run price")
        assert wait_reply(client, room, event, bot)["content"]["body"] == INITIATED
        result_of(client, room, event, bot, 60)
        events.append(event)
        if rotate:
            sb.run("control", "journalctl", "--rotate")
    sb.restart_notifier()
    told = [results_to(sb, event) for event in events]
    print(f"    two journal rotations between three `run price`: {[len(t) for t in told]} results each, "
          f"after a restart too", flush=True)
    assert all(len(t) == 1 and t[0].startswith("Execution of `run price` command successful")
               for t in told), told


def say_in(client, room, bot, text):
    return wait_reply(client, room, client.send_text(room, text), bot, timeout_s=60)


if __name__ == "__main__":
    sys.exit(run_tests([test_results_finished_while_synapse_is_away_are_delivered_once,
                        test_a_reboot_during_runs_is_told_once_and_nothing_is_lost,
                        test_a_full_schedules_dir_loses_nothing_and_says_so,
                        test_a_full_state_dir_loses_nothing,
                        test_a_changed_host_key_fails_clearly_and_others_are_answered,
                        test_a_journal_rotation_repeats_and_loses_nothing],
                       Sandbox(sys.argv[1])))
