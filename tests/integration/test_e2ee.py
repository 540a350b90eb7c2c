"""End-to-end encryption, end to end: alice's own E2EE client (matrix-nio, with olm) in an
encrypted direct chat with the bot, the bot running as the installed unit in the real systemd
container; what goes over the wire is read back from the homeserver itself.

Usage: /usr/bin/python3 tests/integration/test_e2ee.py ENVFILE
"""

import datetime
import json
import os
import sys
import time
import uuid

import olm

from e2ee_client import (CRYPTO_STORE, MEGOLM, Device, assert_encrypted_reply, bot_device_keys, chat, on_the_wire,
                         run_encrypted_tests, say_encrypted, unpadded_b64)
from harness import INITIATED, is_edit_of, is_reply_to, listed, replies_to, result_of, wait_reply
from matrix import API, describe, q
import playbook


def test_help_is_an_encrypted_reply(sb):
    alice, room = chat(sb)
    event, reply = say_encrypted(sb, "help")
    assert on_the_wire(alice, room, event)["type"] == "m.room.encrypted", "alice's client sent plaintext"
    assert_encrypted_reply(sb, reply, event)
    content = reply["content"]
    assert content["msgtype"] == "m.notice", content
    for example in ("`run ping`", "`schedule maintenance 2027-01-08 17:00`", "`list schedules`"):
        assert example in content["body"], (example, content["body"])


def test_run_price_initiated_and_result_encrypted(sb):
    alice, room = chat(sb)
    event, first = say_encrypted(sb, "run price")
    assert first["content"]["body"] == INITIATED, first["content"]
    assert_encrypted_reply(sb, first, event)
    result = alice.wait_for_event(room, lambda e: is_reply_to(event, sb.env["BOT_USER"])(e)
                                  and e["content"]["body"].startswith("Execution of"), 60)
    assert_encrypted_reply(sb, result, event)
    body = result["content"]["body"]
    assert body.startswith("Execution of `run price` command successful\n"), body
    assert "The total price for your server is $35" in body, body


def test_schedule_and_list_encrypted(sb):
    day = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    when = day.strftime("%Y-%m-%d 04:00")
    event, reply = say_encrypted(sb, f"schedule maintenance {when}")
    assert reply["content"]["body"] == "Command scheduled.", reply["content"]
    assert_encrypted_reply(sb, reply, event)
    try:
        event, reply = say_encrypted(sb, "list schedules")
        assert_encrypted_reply(sb, reply, event)
        assert listed(reply["content"]["body"], f"{when}: run maintenance"), reply["content"]
    finally:
        _, reply = say_encrypted(sb, f"cancel maintenance {when}")
        assert reply["content"]["body"] == f"Cancelled `schedule maintenance` (at {when}).", reply["content"]


def test_every_bot_message_is_encrypted_on_the_wire(sb):
    alice, room = chat(sb)
    say_encrypted(sb, "help")
    path = f"{API}/rooms/{q(room)}/messages"
    chunk = alice.request("GET", path, query={"dir": "b", "limit": 1000})["chunk"]
    said = [e for e in chunk if e["sender"] == sb.env["BOT_USER"] and "state_key" not in e]
    assert said, "the bot said nothing in the room"
    plain = [describe(e) for e in said if e["type"] != "m.room.encrypted"]
    assert plain == [], plain


def test_a_new_device_of_alice_reads_the_replies(sb):
    alice, room = chat(sb)
    second = Device(sb, "alice").login()
    second.sync_once()
    assert second.nio.device_id != alice.nio.device_id
    event = alice.send_text(room, "help")
    reply = wait_reply(second, room, event, sb.env["BOT_USER"])
    assert "`run ping`" in reply["content"]["body"], reply["content"]


def test_restart_keeps_the_encrypted_chat(sb):
    alice, _ = chat(sb)
    before = bot_device_keys(sb, alice)
    assert before, "the bot has no device keys"
    sb.restart_notifier()
    event, reply = say_encrypted(sb, "help")
    assert_encrypted_reply(sb, reply, event)
    assert "`run ping`" in reply["content"]["body"], reply["content"]
    assert bot_device_keys(sb, alice) == before, "the bot came back as another device"


def send_megolm(alice, room, session, body):
    """body sent raw in a Megolm session of alice's own making: (event id)."""
    plaintext = {"type": "m.room.message", "room_id": room, "content": {"msgtype": "m.text", "body": body}}
    curve = alice.nio.olm.account.identity_keys["curve25519"]
    return alice.send_event(room, "m.room.encrypted", {
        "algorithm": MEGOLM, "sender_key": curve, "device_id": alice.nio.device_id,
        "session_id": session.id, "ciphertext": session.encrypt(json.dumps(plaintext))})


def send_room_key_to_bot(sb, alice, room, session, session_key):
    """What alice's client does before a message, done by hand: the session's key (as it was
    before the message) to each of the bot's devices over Olm (a session nio makes and keeps, so
    later Olm messages still work)."""
    bot = sb.env["BOT_USER"]
    alice.run(alice.nio.keys_query()) if alice.nio.should_query_keys else None
    messages = {}
    for device_id, device in alice.nio.device_store[bot].items():
        claimed = alice.request("POST", API + "/keys/claim",
                                {"one_time_keys": {bot: {device_id: "signed_curve25519"}}})
        [otk] = claimed["one_time_keys"][bot][device_id].values()
        olm_session = alice.nio.olm.create_session(otk["key"], device.curve25519)
        key = {"algorithm": MEGOLM, "room_id": room, "session_id": session.id,
               "session_key": session_key}
        messages[device_id] = alice.nio.olm._olm_encrypt(olm_session, device, "m.room_key", key)
    alice.request("PUT", f"{API}/sendToDevice/m.room.encrypted/{uuid.uuid4().hex}",
                  {"messages": {bot: messages}})


def test_a_message_whose_key_comes_late_is_answered(sb):
    alice, room = chat(sb)
    session = olm.OutboundGroupSession()
    session_key = session.session_key   # from message index 0 on
    cursor = sb.journal_cursor()
    event = send_megolm(alice, room, session, "help")
    # Once the bot has the message and no key for it, the key comes.
    waiting = f"No key yet for {event}"
    said = sb.wait_notifier_said(cursor, waiting, timeout_s=30)
    assert waiting in said, said
    send_room_key_to_bot(sb, alice, room, session, session_key)
    reply = wait_reply(alice, room, event, sb.env["BOT_USER"])
    assert "`run ping`" in reply["content"]["body"], reply["content"]


def test_undecryptable_message_asks_to_resend(sb):
    alice, room = chat(sb)
    bot = sb.env["BOT_USER"]
    # A Megolm session whose key nobody was ever given: the bot cannot read this.
    session = olm.OutboundGroupSession()
    event = send_megolm(alice, room, session, "help")
    reply = wait_reply(alice, room, event, bot)
    assert_encrypted_reply(sb, reply, event)
    assert "decrypt" in reply["content"]["body"].lower(), reply["content"]
    request = alice.wait_to_device(lambda e: e.get("type") == "m.room_key_request"
                                   and e["content"].get("action") == "request"
                                   and e["content"].get("body", {}).get("session_id") == session.id)
    assert request["sender"] == bot, request
    assert request["content"]["body"]["room_id"] == room, request
    say_encrypted(sb, "help")   # answered in order: anything more to that event would be here by now
    assert len(replies_to(alice, room, event, bot)) == 1, replies_to(alice, room, event, bot)


def test_replayed_command_is_not_answered(sb):
    alice, room = chat(sb)
    original, _ = say_encrypted(sb, "help")
    replay = alice.send_event(room, "m.room.encrypted", on_the_wire(alice, room, original)["content"])
    say_encrypted(sb, "help")   # answered in order: the replay has been handled by now
    assert replies_to(alice, room, replay, sb.env["BOT_USER"]) == []


def test_a_pre_key_message_without_its_identity_key_is_ignored(sb):
    """Anyone may send the bot's devices a to-device message. An Olm pre-key message without the
    sender's identity key made libolm 3.2.13 read from NULL inside the bot; the systemd unit then
    restarted it, and the homeserver handed it the same message again."""
    alice, room = chat(sb)
    bot = sb.env["BOT_USER"]
    pid = sb.notifier_property("MainPID")
    curve = alice.nio.olm.account.identity_keys["curve25519"]
    # Version 3, the one-time key (field 1) and base key (field 2), no identity key (field 3),
    # and a message (field 4): well-formed otherwise.
    message = (b"\x03" + b"\x0a\x20" + os.urandom(32) + b"\x12\x20" + os.urandom(32) +
               b"\x22\x08" + os.urandom(8))
    messages = {}
    for device_id, device in bot_device_keys(sb, alice).items():
        bot_curve = device["keys"][f"curve25519:{device_id}"]
        messages[device_id] = {"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": curve,
                               "ciphertext": {bot_curve: {"type": 0, "body": unpadded_b64(message)}}}
    assert messages, "the bot has no devices"
    cursor = sb.journal_cursor()
    alice.request("PUT", f"{API}/sendToDevice/m.room.encrypted/{uuid.uuid4().hex}",
                  {"messages": {bot: messages}})
    text = f"Ignoring an encrypted to-device message from {alice.user_id}: it does not decrypt."
    said = sb.wait_notifier_said(cursor, text, timeout_s=30)
    assert text in said, said
    event, reply = say_encrypted(sb, "help")
    assert_encrypted_reply(sb, reply, event)
    assert sb.notifier_property("MainPID") == pid, "the notifier was restarted"


def canonical(obj):
    signed = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def assert_signed(obj, user, key):
    signature = obj.get("signatures", {}).get(user, {}).get("ed25519:" + key)
    assert signature, f"not signed by {key}: {obj}"
    olm.ed25519_verify(key, canonical(obj), signature)   # raises OlmVerifyError


def test_bot_devices_are_cross_signed(sb):
    alice, _ = chat(sb)
    bot = sb.env["BOT_USER"]
    keys = alice.request("POST", API + "/keys/query", {"device_keys": {bot: []}})
    master = keys.get("master_keys", {}).get(bot)
    ssk = keys.get("self_signing_keys", {}).get(bot)
    assert master and ssk, f"the bot has no cross-signing keys: {sorted(keys)}"
    assert "master" in master["usage"] and "self_signing" in ssk["usage"], (master, ssk)
    [master_key] = master["keys"].values()
    [ssk_key] = ssk["keys"].values()
    assert_signed(ssk, bot, master_key)
    devices = keys["device_keys"].get(bot, {})
    assert devices, "the bot has no device keys"
    for device in devices.values():
        assert_signed(device, bot, ssk_key)


def test_maintenance_progress_edits_are_encrypted(sb):
    alice, room = chat(sb)
    bot = sb.env["BOT_USER"]
    playbook.setup(sb)   # the operator's playbook stand-in, which waits for its go
    try:
        event, first = say_encrypted(sb, "run maintenance")
        assert first["content"]["body"] == INITIATED, first["content"]
        alice.cursors[room] = 0
        edit = alice.wait_for_event(room, lambda e: is_edit_of(first["event_id"], bot)(e)
                                    and "Ensure Synapse is started" in e["content"]["body"], 60)
        wire = on_the_wire(alice, room, edit["event_id"])
        assert wire["type"] == "m.room.encrypted" and "body" not in wire["content"], wire
        # The relation stays readable to the homeserver, as clients expect for an edit.
        assert wire["content"]["m.relates_to"]["rel_type"] == "m.replace", wire["content"]
        playbook.let_go(sb)
        result = result_of(alice, room, event, bot, 120)
        assert result["content"]["body"].startswith("Execution of `run maintenance` command successful")
        assert_encrypted_reply(sb, result, event)
    finally:
        playbook.teardown(sb)


def claim_bot_key(sb, client):
    """Claims one one-time key of each bot device, as a new Olm session would: [key objects]."""
    bot = sb.env["BOT_USER"]
    devices = bot_device_keys(sb, client)
    claimed = client.request("POST", API + "/keys/claim",
                             {"one_time_keys": {bot: {d: "signed_curve25519" for d in devices}}})
    return [key for device in claimed["one_time_keys"].get(bot, {}).values() for key in device.values()]


def test_one_time_keys_are_replenished(sb):
    alice, _ = chat(sb)
    # Use up every one-time key the bot has on the server: then claims get its fallback key.
    for _ in range(200):
        if all(key.get("fallback") for key in claim_bot_key(sb, alice)):
            break
    else:
        raise AssertionError("the bot's one-time keys never ran out: no fallback key")
    say_encrypted(sb, "help")   # the bot's next /sync tells it its keys ran out
    deadline = time.monotonic() + 30
    while any(key.get("fallback") for key in claim_bot_key(sb, alice)):
        assert time.monotonic() < deadline, "the bot did not upload new one-time keys"
        say_encrypted(sb, "help")


KEY_FILE = "/etc/scheduler/secrets/crypto-key"


def test_a_lost_store_or_wrong_key_stops_the_bot_clearly(sb):
    chat(sb)
    sb.run("control", "systemctl", "stop", "scheduler-notifier.service")
    sb.run("control", "cp", "-p", KEY_FILE, KEY_FILE + ".kept")
    sb.run("control", "mv", CRYPTO_STORE, CRYPTO_STORE + ".kept")
    try:
        sb.start_fails_saying(f"The crypto store {CRYPTO_STORE} cannot be used: it is missing, but this device "
                              "published its keys with it.")
        sb.run("control", "mv", CRYPTO_STORE + ".kept", CRYPTO_STORE)
        sb.run("control", "sh", "-c", f"echo another-key-of-32-characters-long > {KEY_FILE}")
        sb.start_fails_saying(f"The crypto store {CRYPTO_STORE} cannot be used: crypto_key_file does not open it")
    finally:
        sb.run("control", "sh", "-c", f"test -e {CRYPTO_STORE} || mv {CRYPTO_STORE}.kept {CRYPTO_STORE}")
        sb.run("control", "mv", KEY_FILE + ".kept", KEY_FILE)
        sb.run("control", "systemctl", "reset-failed", "scheduler-notifier.service", check=False)
        sb.restart_notifier()
    event, reply = say_encrypted(sb, "help")
    assert_encrypted_reply(sb, reply, event)


TESTS = [
    test_help_is_an_encrypted_reply,
    test_run_price_initiated_and_result_encrypted,
    test_schedule_and_list_encrypted,
    test_every_bot_message_is_encrypted_on_the_wire,
    test_a_new_device_of_alice_reads_the_replies,
    test_restart_keeps_the_encrypted_chat,
    test_undecryptable_message_asks_to_resend,
    test_a_message_whose_key_comes_late_is_answered,
    test_replayed_command_is_not_answered,
    test_a_pre_key_message_without_its_identity_key_is_ignored,
    test_bot_devices_are_cross_signed,
    test_maintenance_progress_edits_are_encrypted,
    test_one_time_keys_are_replenished,
    test_a_lost_store_or_wrong_key_stops_the_bot_clearly,
]


if __name__ == "__main__":
    sys.exit(run_encrypted_tests(TESTS))
