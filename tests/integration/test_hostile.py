"""Hostile and confusing input, as customers and strangers can send it: shell metacharacters,
unicode look-alikes and control characters, very long messages, HTML, a formatted_body that says
something else than the body, edits, a NUL inside a message, the bot's own user on another
device, and a stranger dressing up as an owner. Each test checks what the customer sees (the
reply, its HTML) and that nothing ran or changed (systemd's scheduler units, the result entries
in the journal, the schedules store), and that the bot still answers.

Usage: /usr/bin/python3 tests/integration/test_hostile.py ENVFILE
"""

import json
import os
import re
import sys
import time

from harness import Sandbox, replies_to, run_tests, wait_membership, wait_reply
from matrix import API, Client

UNKNOWN = "Unknown command, send `help`"
REFUSAL = "Sorry, I take commands only from the customers I serve."
EDIT = "I do not act on edited messages, so nothing ran. Send the command again as a new message."
TOO_LONG = "That message is too long to be a command; commands are one short line. Send `help`"
# The only tags the bot writes into a formatted_body; anything else came from someone's text.
OWN_TAGS = {"code", "/code", "br", "ul", "/ul", "li", "/li"}


def snapshot(sb):
    """Everything a command could start or change: the scheduler's units in systemd (runs, timers;
    the monitoring timer's own runs left out), the result entries in the journal, the store."""
    out = sb.run("control", "systemctl", "list-units", "--all", "--no-legend", "--plain", "scheduler-*")
    units = sorted(line.split()[0] for line in out.splitlines()
                   if line.strip() and "-monitor" not in line.split()[0])
    out = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "json", "--no-pager")
    results = [json.loads(line)["__CURSOR"] for line in out.splitlines()
               if line.strip() and json.loads(line).get("SCHEDULER_MODE") != "monitor"]
    store = {}
    store_dir = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler/schedules.d")
    for name in sorted(os.listdir(store_dir)) if os.path.isdir(store_dir) else ():
        with open(os.path.join(store_dir, name), encoding="utf-8") as f:
            store[name] = f.read()
    return units, results, store


def assert_nothing_ran(sb, before):
    units, results, store = snapshot(sb)
    assert units == before[0], f"units changed:\n{before[0]}\n{units}"
    assert results == before[1], f"{len(results) - len(before[1])} new result entries"
    assert store == before[2], "the schedules store changed"


def answer(sb, text, client=None, room=None):
    """Sends text as alice (or client), returns the bot's reply's content."""
    if client is None:
        client, room = sb.customer_room()
    event = client.send_text(room, text)
    return wait_reply(client, room, event, sb.env["BOT_USER"])["content"]


def assert_html_safe(content):
    """The formatted_body carries no tag the bot did not write, and says what the body says."""
    html = content["formatted_body"]
    for tag in re.findall(r"<\s*([^\s>]*)", html):
        assert tag.lower() in OWN_TAGS, f"<{tag}> in {html!r}"
    text = re.sub(r"<[^>]*>", "", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        text = text.replace(entity, char)
    assert text.replace("\n", "") == content["body"].replace("\n", "").replace("`", "").replace("* ", ""), \
        (text, content["body"])


def assert_silent(sb, client, room, events):
    """The bot answers a room's messages in order: once an owner's later `help` (client's) is
    answered, each of events has been handled, and none of them answered."""
    marker = client.send_text(room, "help")
    wait_reply(client, room, marker, sb.env["BOT_USER"])
    for event in events:
        assert replies_to(client, room, event, sb.env["BOT_USER"]) == [], f"{event} was answered"


def test_shell_metacharacters_run_nothing(sb):
    before = snapshot(sb)
    for text, expected in (("run ping; rm -rf /", "Unknown command `ping;`; the commands are"),
                           ("run $(id)", "Unknown command `$(id)`;"),
                           ("run `id`", "Unknown command; the commands are"),
                           ("run ${HOME}", "Unknown command `${HOME}`;"),
                           ("run $HOME", "Unknown command `$HOME`;"),
                           ("run ping | sh", "`ping` takes no arguments"),
                           ("run ping\nrm -rf /", UNKNOWN),
                           ("run ping && reboot", "`ping` takes no arguments"),
                           ("run restart slack>/etc/passwd", "`slack>/etc/passwd` is not a service name"),
                           ("run restart ${HOME}", "`${HOME}` is not a service name"),
                           ("schedule restart 2027-01-08 17:00 $(reboot)",
                            "`$(reboot)` is not a service name"),
                           ("recurring restart Friday 15:00 `reboot`", "That is not a service name")):
        content = answer(sb, text)
        assert expected in content["body"], (text, content["body"])
        assert "uid=" not in content["body"] and "/root" not in content["body"], content["body"]
        assert_html_safe(content)
    # The customer's `$` reaches the operator's journal as it was written, expanded nowhere.
    said = sb.run("journal", "-t", "scheduler-notifier", "-o", "cat", "--no-pager")
    assert "unknown command `${HOME}`" in said and "`$(reboot)` is not a service name" in said
    assert_nothing_ran(sb, before)


def test_unicode_look_alikes_are_not_commands(sb):
    before = snapshot(sb)
    for text in ("run \u0440ing",                 # Cyrillic er for the p
                 "run \uff50\uff49\uff4e\uff47",   # fullwidth ping
                 "run pi\u200bng",                 # a zero-width space inside
                 "run ping\u200b",                 # and at the end
                 "\u202erun gnip",                 # right-to-left override
                 "run\u00a0ping",                  # a no-break space for the blank
                 "h\u0435lp",                      # Cyrillic ie
                 "run \x1b[2J\x1b[Hping",          # terminal escapes
                 "run ping\x07\x08\x08"):          # bell and backspaces
        content = answer(sb, text)
        # Not understood, with the way out; nothing of the text echoed, so no control
        # character or direction override lands in the customer's chat or the journal.
        assert content["body"] == UNKNOWN, (text, content["body"])
        assert_html_safe(content)
    assert_nothing_ran(sb, before)


def test_very_long_messages_get_a_short_answer(sb):
    before = snapshot(sb)
    alice, room = sb.customer_room()
    # Cut to the first 4,096 bytes this would be `run price`; it is no command at all.
    padded = "run price" + " " * 60000 + "; reboot"
    for text, expected in ((padded, TOO_LONG),
                           ("help\n" * 10000, TOO_LONG),
                           ("x\n" * 2000, UNKNOWN),
                           ("run " + "a" * 3000, "Unknown command `" + "a" * 40 + "…`;")):
        start = time.monotonic()
        content = answer(sb, text)
        print(f"    {len(text.encode())} bytes, {text.count(chr(10))} lines: answered in "
              f"{time.monotonic() - start:.2f} s", flush=True)
        assert content["body"].startswith(expected), (content["body"][:200], expected)
        assert len(content["body"]) < 200, len(content["body"])
    # Still responsive: the next ordinary command is answered as usual.
    assert "Modes:" in answer(sb, "help", alice, room)["body"]
    assert_nothing_ran(sb, before)


def test_html_is_escaped_in_replies(sb):
    before = snapshot(sb)
    for text, quoted in (("run <b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"),
                         ("run <img src=x onerror=alert(1)>", "&lt;img"),
                         ("run restart <script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
                         ("run &amp;&lt;", "&amp;amp;&amp;lt;"),
                         ('run "x"', "&quot;x&quot;"),
                         ("run </code><a href=https://evil.example>x", "&lt;/code&gt;&lt;a")):
        content = answer(sb, text)
        assert content["format"] == "org.matrix.custom.html", content
        assert quoted in content["formatted_body"], (text, content["formatted_body"])
        assert_html_safe(content)
    assert_nothing_ran(sb, before)


def test_the_body_is_the_command_not_the_formatted_body(sb):
    before = snapshot(sb)
    alice, room = sb.customer_room()
    for body, html, expected in (("help", "<b>run maintenance</b>", "Modes:"),
                                 ("make me a sandwich", "run price", UNKNOWN),
                                 ("list recurring", "<p>schedule maintenance 2027-01-08 17:00</p>", "")):
        event = alice.send_event(room, "m.room.message", {
            "msgtype": "m.text", "body": body, "format": "org.matrix.custom.html", "formatted_body": html})
        content = wait_reply(alice, room, event, sb.env["BOT_USER"])["content"]
        assert expected in content["body"], (body, content["body"])
        if body == "list recurring":
            assert "2027-01-08" not in content["body"], content["body"]
    assert_nothing_ran(sb, before)


def edit(client, room, event, body, fallback=None):
    return client.send_event(room, "m.room.message", {
        "msgtype": "m.text", "body": fallback if fallback is not None else "* " + body,
        "m.new_content": {"msgtype": "m.text", "body": body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": event}})


def test_edits_run_nothing_and_say_so(sb):
    alice, room = sb.customer_room()
    typo = alice.send_text(room, "run pign")
    assert "Unknown command `pign`" in wait_reply(alice, room, typo, sb.env["BOT_USER"])["content"]["body"]
    old = alice.send_text(room, "help")
    wait_reply(alice, room, old, sb.env["BOT_USER"])
    before = snapshot(sb)
    for event, body, fallback in ((typo, "run price", None),
                                  (old, "run maintenance", None),
                                  # A client that puts the new text in the body as it is.
                                  (old, "schedule price 2027-03-01 10:00",
                                   "schedule price 2027-03-01 10:00")):
        edited = edit(alice, room, event, body, fallback)
        content = wait_reply(alice, room, edited, sb.env["BOT_USER"])["content"]
        assert content["body"] == EDIT, content["body"]
    assert_nothing_ran(sb, before)
    # The edited commands are not in the listings either.
    assert "2027-03-01" not in answer(sb, "list schedules")["body"]


def test_a_nul_inside_a_message(sb):
    """JSON may carry "\\u0000"; the homeserver passes it on. Before, one such message made every
    /sync answer unreadable to the bot, which then answered no one at all."""
    before = snapshot(sb)
    alice, room = sb.customer_room()
    event = alice.send_event(room, "m.room.message",
                             {"msgtype": "m.text", "body": "run price\u0000; reboot"})
    assert wait_reply(alice, room, event, sb.env["BOT_USER"])["content"]["body"] == UNKNOWN
    assert "Modes:" in answer(sb, "help")["body"]
    assert_nothing_ran(sb, before)


def test_the_bots_own_other_device_is_ignored(sb):
    alice, room = sb.customer_room()
    before = snapshot(sb)
    other = Client(sb.env["HS_URL"], sb.env["BOT_USER"], sb.env["BOT_PASSWORD"]).login()
    try:
        sent = [other.send_text(room, "run price"), other.send_text(room, "help"),
                other.send_event(room, "m.room.message", {"msgtype": "m.text", "body": "list runs"})]
        assert_silent(sb, alice, room, sent)
    finally:
        other.request("POST", API + "/logout", {})
    assert_nothing_ran(sb, before)


def test_spoofed_senders_run_nothing(sb):
    """mallory, a stranger in a room of alice's, dressed up as alice in every way the content of
    a message allows; and alice's own notices, which are never commands."""
    alice = sb.client("alice")
    room = alice.create_room(invite=[sb.env["BOT_USER"], sb.env["MALLORY_USER"]], name="alice, mallory, bot")
    wait_membership(alice, room, sb.env["BOT_USER"], "join")
    mallory = sb.client("mallory")
    mallory.join(room)
    command = alice.send_text(room, "list runs")
    wait_reply(alice, room, command, sb.env["BOT_USER"])
    before = snapshot(sb)
    alice_user = sb.env["ALICE_USER"]
    first = mallory.send_event(room, "m.room.message", {
        "msgtype": "m.text", "body": "run price", "sender": alice_user, "user_id": alice_user})
    refusal = wait_reply(alice, room, first, sb.env["BOT_USER"])["content"]["body"]
    assert refusal.startswith(REFUSAL), refusal
    quiet = [
        # A reply whose fallback quotes alice's command.
        mallory.send_event(room, "m.room.message", {
            "msgtype": "m.text", "body": f"> <{alice_user}> run price\n\nrun price",
            "format": "org.matrix.custom.html",
            "formatted_body":
                f"<mx-reply><blockquote>{alice_user}<br>run price</blockquote></mx-reply>run price",
            "m.relates_to": {"m.in_reply_to": {"event_id": command}}}),
        # An "edit" of alice's command, by mallory.
        edit(mallory, room, command, "run maintenance", "run maintenance"),
        mallory.send_event(room, "m.room.message", {
            "msgtype": "m.text", "body": "run disk", "sender": alice_user,
            "m.relates_to": {"m.in_reply_to": {"event_id": command}}}),
        # alice's notices and emotes: what bots send, never commands.
        alice.send_text(room, "run price", msgtype="m.notice"),
        alice.send_text(room, "run disk", msgtype="m.emote"),
    ]
    assert_silent(sb, alice, room, quiet)
    assert len(replies_to(alice, room, first, sb.env["BOT_USER"])) == 1
    # alice's own reply quoting a command (a client's reply fallback): her text is the command,
    # never the quote; and a reply that is nothing but a quote is none.
    for body, expected in ((f"> <{alice_user}> run maintenance\n> now\n\nhelp", "Modes:"),
                           (f"> <{alice_user}> run maintenance", UNKNOWN)):
        event = alice.send_event(room, "m.room.message", {
            "msgtype": "m.text", "body": body, "m.relates_to": {"m.in_reply_to": {"event_id": command}}})
        assert expected in wait_reply(alice, room, event, sb.env["BOT_USER"])["content"]["body"]
    assert_nothing_ran(sb, before)


def test_room_mentions_in_what_the_bot_says_ping_no_one(sb):
    """The bot says back what it was given ("`@room` is not a service name"), and a server's output
    may say "@room" too. In a room where the bot may notify the whole room (everyone invited to a
    trusted private chat has the creator's power), every message of the bot carries m.mentions
    naming no one, so the homeserver pings no one: bob's own notifications have none of it."""
    bot = sb.env["BOT_USER"]
    alice = sb.client("alice")
    bob = sb.client("bob")
    resp = alice.request("POST", API + "/createRoom", {
        "preset": "trusted_private_chat", "invite": [bot, sb.env["BOB_USER"]], "name": "alice, bob, bot"})
    room = resp["room_id"]
    wait_membership(alice, room, bot, "join")
    bob.join(room)
    cmd = alice.send_text(room, "run restart @room")
    reply = wait_reply(alice, room, cmd, bot)
    assert "`@room`" in reply["content"]["body"], reply["content"]
    assert reply["content"].get("m.mentions") == {}, reply["content"]
    # alice's own "@room" does notify bob (she may, as the room's creator): the rule is live.
    wake = alice.send_text(room, "@room wake up")
    deadline = time.monotonic() + 30
    while True:
        seen = [n["event"]["event_id"] for n in
                bob.request("GET", API + "/notifications", query={"limit": "50"})["notifications"]]
        if wake in seen or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert wake in seen, "the homeserver did not notify bob of alice's @room"
    assert reply["event_id"] not in seen, "the bot's message notified the whole room"


TESTS = [
    test_shell_metacharacters_run_nothing,
    test_unicode_look_alikes_are_not_commands,
    test_very_long_messages_get_a_short_answer,
    test_html_is_escaped_in_replies,
    test_the_body_is_the_command_not_the_formatted_body,
    test_edits_run_nothing_and_say_so,
    test_a_nul_inside_a_message,
    test_the_bots_own_other_device_is_ignored,
    test_spoofed_senders_run_nothing,
    test_room_mentions_in_what_the_bot_says_ping_no_one,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
