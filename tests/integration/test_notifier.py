"""The notifier's Matrix core, end to end: a customer's client on the real Synapse, the bot
running as the installed unit in the real systemd container.

Usage: /usr/bin/python3 tests/integration/test_notifier.py ENVFILE
"""

import sys
import time

from harness import Sandbox, replies_to, run_tests, wait_membership, wait_reply
from matrix import API, q

def test_help_is_a_reply_in_the_same_room(sb):
    alice, room = sb.customer_room()
    cmd = alice.send_text(room, "help")
    reply = wait_reply(alice, room, cmd, sb.env["BOT_USER"])
    content = reply["content"]
    assert content["msgtype"] == "m.notice", content
    for example in ("`run ping`", "`schedule maintenance 2027-01-08 17:00`",
                    "`recurring maintenance Friday 15:00`", "`list schedules`", "`run restart slack`"):
        assert example in content["body"], (example, content["body"])
    assert content["format"] == "org.matrix.custom.html"
    assert "<code>run ping</code>" in content["formatted_body"], content["formatted_body"]


def test_unknown_command(sb):
    alice, room = sb.customer_room()
    cmd = alice.send_text(room, "make me a sandwich")
    reply = wait_reply(alice, room, cmd, sb.env["BOT_USER"])
    assert reply["content"]["body"] == "Unknown command, send `help`", reply["content"]


def test_bad_arguments_get_a_specific_error(sb):
    alice, room = sb.customer_room()
    cmd = alice.send_text(room, "run restart slack;reboot")
    reply = wait_reply(alice, room, cmd, sb.env["BOT_USER"])
    assert "`slack;reboot` is not a service name" in reply["content"]["body"], reply["content"]


def test_invite_from_a_stranger_is_declined(sb):
    mallory = sb.client("mallory")
    room = mallory.create_room(invite=[sb.env["BOT_USER"]])
    wait_membership(mallory, room, sb.env["BOT_USER"], "leave")
    assert sb.env["BOT_USER"] not in mallory.joined_members(room)


def test_a_customers_room_never_becomes_anothers_by_an_invite(sb):
    """alice's room, with bob (globex's owner) in it: the bot, once gone, invited back by bob
    declines; the room stays acme's."""
    bot = sb.env["BOT_USER"]
    alice = sb.client("alice")
    bob = sb.client("bob")
    room = alice.create_room(invite=[bot, sb.env["BOB_USER"]], name="alice's, bob visiting")
    wait_membership(alice, room, bot, "join")
    bob.join(room)
    cmd = alice.send_text(room, "help")
    wait_reply(alice, room, cmd, bot)
    alice.request("POST", f"{API}/rooms/{q(room)}/kick", {"user_id": bot, "reason": "test"})
    cursor = sb.journal_cursor()
    bob.invite(room, bot)
    said = sb.wait_notifier_said(cursor, "the room is another customer's")
    assert f"Declining the invite to {room} from {sb.env['BOB_USER']}: the room is another customer's." \
        in said, said
    wait_membership(alice, room, bot, "leave")
    assert bot not in alice.joined_members(room)


def test_stranger_is_refused_once_and_nothing_runs(sb):
    alice, room = sb.customer_room()
    alice.invite(room, sb.env["MALLORY_USER"])
    mallory = sb.client("mallory")
    mallory.join(room)
    first = mallory.send_text(room, "run ping")
    second = mallory.send_text(room, "run maintenance")
    # The bot answers in order: once alice's later command is answered, both of mallory's
    # messages have been handled.
    marker = alice.send_text(room, "help")
    wait_reply(alice, room, marker, sb.env["BOT_USER"])
    refusal = replies_to(alice, room, first, sb.env["BOT_USER"])
    assert len(refusal) == 1, refusal
    assert "only from the customers I serve" in refusal[0]["content"]["body"]
    assert replies_to(alice, room, second, sb.env["BOT_USER"]) == []
    runs = sb.run("control", "systemctl", "list-units", "--all", "--no-legend", "scheduler-*-run-*")
    assert runs.strip() == "", runs
    results = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "cat", "--no-pager")
    assert results.strip() == "", results


def assert_answered_once(sb, alice, room, commands):
    for cmd in commands:
        wait_reply(alice, room, cmd, sb.env["BOT_USER"], timeout_s=90)
    # Everything said before a fresh marker is answered by then; count after it.
    marker = alice.send_text(room, "help")
    wait_reply(alice, room, marker, sb.env["BOT_USER"], timeout_s=90)
    for cmd in commands:
        n = len(replies_to(alice, room, cmd, sb.env["BOT_USER"]))
        assert n == 1, f"{cmd} answered {n} times"


def test_homeserver_away_for_20_s(sb):
    alice, room = sb.customer_room()
    pid = sb.notifier_property("MainPID")
    before = alice.send_text(room, "help")
    sb.run("synapse", "stop")
    down = time.monotonic()
    # The outage itself is the scenario: the bot must ride out 20 s without its homeserver.
    time.sleep(20)
    sb.run("synapse", "start")
    print(f"    synapse was down {time.monotonic() - down:.1f} s", flush=True)
    after = [alice.send_text(room, f"run ping extra{i}") for i in range(3)]
    assert_answered_once(sb, alice, room, [before, *after])
    assert sb.notifier_property("MainPID") == pid, "the notifier exited while the homeserver was away"


def test_restart_does_not_reanswer(sb):
    alice, room = sb.customer_room()
    old = alice.send_text(room, "list runs")
    wait_reply(alice, room, old, sb.env["BOT_USER"])
    sb.restart_notifier()
    assert_answered_once(sb, alice, room, [old])


def test_sigkill_mid_conversation_answers_each_once(sb):
    alice, room = sb.customer_room()
    pid = sb.notifier_property("MainPID")
    cmds = [alice.send_text(room, "help") for _ in range(3)]
    sb.run("control", "systemctl", "kill", "--signal=KILL", "scheduler-notifier.service")
    cmds += [alice.send_text(room, "list recurring") for _ in range(2)]
    assert_answered_once(sb, alice, room, cmds)
    assert sb.notifier_property("MainPID") != pid, "systemd did not restart the killed notifier"


def test_customers_are_kept_apart(sb):
    alice, room_a = sb.customer_room("alice")
    bob, room_b = sb.customer_room("bob")
    cmd = bob.send_text(room_b, "help")
    wait_reply(bob, room_b, cmd, sb.env["BOT_USER"])
    assert sb.env["ALICE_USER"] not in bob.joined_members(room_b)
    assert sb.env["BOB_USER"] not in alice.joined_members(room_a)


SECRET = "/etc/scheduler/secrets/acme.key"


def check_config(sb):
    """`scheduler-notifier --check-config` in the control container: (exit status, what it said)."""
    out = sb.run("control", "sh", "-c", "scheduler-notifier --check-config 2>&1; echo status=$?")
    said, _, status = out.rstrip("\n").rpartition("status=")
    return int(status), said


def test_an_exposed_or_foreign_secret_stops_the_start(sb):
    alice, room = sb.customer_room()
    sb.run("control", "systemctl", "stop", "scheduler-notifier.service")
    try:
        sb.run("control", "chmod", "0644", SECRET)
        why = (f"Secret file {SECRET} ([customer acme] ssh_key_file) is open to group or others "
               "(mode 0644); refusing to start.")
        sb.start_fails_saying(why, f"Fix: chmod 600 {SECRET}")
        status, said = check_config(sb)
        assert status == 1 and why in said and f"Fix: chmod 600 {SECRET}" in said, (status, said)
        sb.run("control", "chmod", "0600", SECRET)
        sb.run("control", "chown", "65534", SECRET)
        uid = sb.run("control", "id", "-u", "scheduler").strip()
        why = (f"Secret file {SECRET} ([customer acme] ssh_key_file) is owned by UID 65534, not by "
               f"scheduler (UID {uid}) that the notifier runs as; refusing to start.")
        sb.start_fails_saying(why, f"Fix: chown scheduler {SECRET}")
        # root's --check-config checks for the user the service runs as, not for root.
        status, said = check_config(sb)
        assert status == 1 and why in said, (status, said)
    finally:
        sb.run("control", "chown", "scheduler", SECRET)
        sb.run("control", "chmod", "0600", SECRET)
        sb.run("control", "systemctl", "reset-failed", "scheduler-notifier.service", check=False)
        sb.restart_notifier()
    status, said = check_config(sb)
    assert status == 0 and "OK" in said, (status, said)
    cmd = alice.send_text(room, "help")
    wait_reply(alice, room, cmd, sb.env["BOT_USER"])


TESTS = [
    test_help_is_a_reply_in_the_same_room,
    test_unknown_command,
    test_bad_arguments_get_a_specific_error,
    test_invite_from_a_stranger_is_declined,
    test_a_customers_room_never_becomes_anothers_by_an_invite,
    test_stranger_is_refused_once_and_nothing_runs,
    test_customers_are_kept_apart,
    test_restart_does_not_reanswer,
    test_sigkill_mid_conversation_answers_each_once,
    test_homeserver_away_for_20_s,
    test_an_exposed_or_foreign_secret_stops_the_start,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
