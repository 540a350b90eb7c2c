"""A flood: one customer's owner (bob) sends 1,000 commands as fast as the homeserver takes them,
with the default `commands_per_minute`. The bot answers what the limit lets through, tells bob
once a minute that he is too fast, leaves the rest out, and meanwhile answers alice as usual.
Prints the figures (messages, answers, notices, alice's waits).

Usage: /usr/bin/python3 tests/integration/test_flood.py ENVFILE
"""

import statistics
import sys
import threading
import time

from harness import Sandbox, bot_history, edit_config, replied_to, restore_config, run_tests, wait_reply

FLOOD = 1000
ALICE_COMMANDS = 8
DEFAULT_PER_MINUTE = 20
TOO_FAST = "You are sending commands faster than I take them"


def bot_replies(client, room, bot, events):
    """The bot's replies to events, read back from the room's history (a /sync would show only
    the last hundred events of a flood)."""
    sent = set(events)
    return [e for e in bot_history(client, room, bot) if replied_to(e) in sent]


def test_a_flood_is_rate_limited_and_others_are_answered(sb):
    bot = sb.env["BOT_USER"]
    bob, room_b = sb.customer_room("bob")
    alice, room_a = sb.customer_room("alice")
    before = edit_config(sb, lambda t: t.replace("commands_per_minute = 6000\n", ""))
    assert before != open(sb.env["CONTROL_CONFIG"], encoding="utf-8").read(), "no limit to remove"
    try:
        sb.restart_notifier()
        flooder = sb.client("bob")   # its own connection: the flood runs in a thread
        flood = []
        thread = threading.Thread(target=lambda: flood.extend(flooder.send_text(room_b, "help")
                                                              for _ in range(FLOOD)))
        start = time.monotonic()
        thread.start()
        # Alice meanwhile: a handful of commands, one after the other (her own limit is not the
        # point here: fewer than half a minute's worth).
        waits = []
        while (thread.is_alive() or not waits) and len(waits) < ALICE_COMMANDS:
            t0 = time.monotonic()
            event = alice.send_text(room_a, "help")
            wait_reply(alice, room_a, event, bot, timeout_s=60)
            waits.append(time.monotonic() - t0)
        thread.join()
        took = time.monotonic() - start
        # A command of alice's after the whole flood: once it is answered, the bot has seen every
        # flood message (it takes /sync batches in order) and queued its answers before this one.
        marker = alice.send_text(room_a, "help")
        wait_reply(alice, room_a, marker, bot, timeout_s=60)
        deadline = time.monotonic() + 60
        while not [e for e in bot_replies(bob, room_b, bot, flood) if TOO_FAST in e["content"]["body"]]:
            assert time.monotonic() < deadline, "bob was never told he is too fast"
            wait_reply(alice, room_a, alice.send_text(room_a, "help"), bot)   # the bot's next batch
        replies = bot_replies(bob, room_b, bot, flood)
        notices = [e for e in replies if TOO_FAST in e["content"]["body"]]
        answered = len(replies) - len(notices)
        print(f"    flood: {len(flood)} messages from bob in {took:.1f} s; {answered} answered, "
              f"{len(notices)} 'too fast' notices, the rest left out", flush=True)
        print(f"    alice meanwhile: {len(waits)} commands, each answered; her wait median "
              f"{statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms", flush=True)
        assert len(flood) == FLOOD
        minutes = took / 60 + 1
        # Half a minute's worth at once, then the refill: never more than the limit lets through.
        assert 1 <= answered <= DEFAULT_PER_MINUTE / 2 + DEFAULT_PER_MINUTE * minutes, answered
        assert 1 <= len(notices) <= minutes + 1, len(notices)
        assert "20 a minute" in notices[0]["content"]["body"], notices[0]["content"]
    finally:
        restore_config(sb, before)


def test_after_the_flood_bob_is_answered_again(sb):
    bot = sb.env["BOT_USER"]
    bob, room_b = sb.customer_room("bob")
    event = bob.send_text(room_b, "help")
    reply = wait_reply(bob, room_b, event, bot)
    assert "`run ping`" in reply["content"]["body"], reply["content"]


if __name__ == "__main__":
    sys.exit(run_tests([test_a_flood_is_rate_limited_and_others_are_answered,
                        test_after_the_flood_bob_is_answered_again], Sandbox(sys.argv[1])))
