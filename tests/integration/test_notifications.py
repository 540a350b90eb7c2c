"""What rings on a customer's phone, under the homeserver's default push rules: the results of runs
and of scheduled runs (and alerts, recoveries and reminders: test_alerts.py) mention the owners
and notify them; acknowledgements, `help` and other answers stay quiet (an m.notice). Read from
the customer's own GET /notifications on the real Synapse.

Usage: /usr/bin/python3 tests/integration/test_notifications.py ENVFILE
"""

import sys

from harness import (INITIATED, Sandbox, highlighted, notification_of, result_of, run_tests, soon,
                     wait_membership, wait_reply, wait_runs_ended)


def test_a_result_rings_and_answers_stay_quiet(sb):
    alice, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    help_reply = wait_reply(alice, room, alice.send_text(room, "help"), bot)
    event = alice.send_text(room, "run price")
    ack = wait_reply(alice, room, event, bot)
    assert ack["content"]["body"] == INITIATED, ack["content"]
    result = result_of(alice, room, event, bot)
    assert result["content"]["msgtype"] == "m.text", result["content"]
    assert result["content"]["m.mentions"] == {"user_ids": [alice.user_id]}, result["content"]
    assert f'<a href="https://matrix.to/#/{alice.user_id}">' in result["content"]["formatted_body"]
    notified = notification_of(alice, result["event_id"])
    assert notified and highlighted(notified), notified
    # By now the quiet ones would have been counted too.
    for quiet in (ack, help_reply):
        assert quiet["content"]["msgtype"] == "m.notice", quiet["content"]
        assert notification_of(alice, quiet["event_id"], timeout_s=0) is None, quiet["content"]["body"]


def test_a_scheduled_result_rings(sb):
    alice, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    when = soon()
    event = alice.send_text(room, f"schedule price {when}")
    assert wait_reply(alice, room, event, bot)["content"]["body"] == "Command scheduled."
    alice.cursors[room] = 0
    result = alice.wait_for_event(room, lambda e: e.get("sender") == bot and e["content"].get(
        "body", "").startswith("Execution of `run price` command successful") and e["content"].get(
        "m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event, 150)
    notified = notification_of(alice, result["event_id"])
    assert notified and highlighted(notified), notified


def test_in_a_group_room_only_owners_are_mentioned(sb):
    """alice's room with a colleague who owns nothing: the result mentions alice alone; the
    colleague may be told of the message as of any in the room, but not as a mention."""
    bot = sb.env["BOT_USER"]
    alice = sb.client("alice")
    colleague = sb.client("mallory")
    room = alice.create_room(invite=[bot, colleague.user_id], name="alice and a colleague")
    wait_membership(alice, room, bot, "join")
    colleague.join(room)
    wait_runs_ended(sb, "acme", "price")
    event = alice.send_text(room, "run price")
    result = result_of(alice, room, event, bot)
    assert result["content"]["m.mentions"] == {"user_ids": [alice.user_id]}, result["content"]
    assert highlighted(notification_of(alice, result["event_id"]))
    assert not highlighted(notification_of(colleague, result["event_id"], timeout_s=2))


TESTS = [
    test_a_result_rings_and_answers_stay_quiet,
    test_a_scheduled_result_rings,
    test_in_a_group_room_only_owners_are_mentioned,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
