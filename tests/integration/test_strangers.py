"""Strangers cannot stop, slow or grow the bot: mallory, on the same homeserver and nobody's owner,
floods the bot's device with junk to-device events (made-up keys of 60 KB, keys of the right
shape, unknown types) and with real Olm messages from a thousand devices of hers carrying room
keys for alice's encrypted chat, in bursts, while alice talks to the bot; then invites it to
rooms in bulk. The bot answers alice throughout, its crypto store and memory stay bounded, and
after a restart it is the same device in her encrypted chat.

Usage: /usr/bin/python3 tests/integration/test_strangers.py ENVFILE
"""

import json
import os
import sys
import threading
import time
import uuid

import olm

from e2ee_client import (CRYPTO_STORE, MEGOLM, assert_encrypted_reply, bot_device_keys, chat, run_encrypted_tests,
                         say_encrypted, unpadded_b64)
from harness import wait_membership
from matrix import API, q

OLM = "m.olm.v1.curve25519-aes-sha2"
# What the store's limits allow (notifier/e2ee/crypto-internal.h): 500 Olm peers of 5 sessions, 1,000
# Megolm sessions with 100 indices each, and the devices of the rooms' members.
STORE_BOUND = 8 * 1024 * 1024
PEERS_MAX = 500
RSS_GROWTH_MAX_KB = 16 * 1024
SENDERS = 4
JOURNAL_LINES_MAX = 100


def store_size(sb):
    return int(sb.run("control", "stat", "-c", "%s", CRYPTO_STORE))


def crypto_store(sb):
    return json.loads(sb.run("control", "cat", CRYPTO_STORE))


def notifier_rss_kb(sb):
    status = sb.run("control", "cat", f"/proc/{sb.notifier_property('MainPID')}/status")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def room_keys_of(held, user):
    return sum(1 for entry in held["inbound"].values() if entry.get("sender") == user)


class Flood:
    """mallory's to-device events for the bot's devices, made up front and sent by SENDERS
    threads, one event per request, as fast as the homeserver takes them."""

    def __init__(self, sb, mallory):
        self.sb = sb
        self.mallory = mallory
        self.bot = sb.env["BOT_USER"]
        self.devices = bot_device_keys(sb, mallory)
        assert self.devices, "the bot has no devices"
        self.events = []   # (event type, {device id: content})
        self.sent = 0
        self.errors = []

    def each_device(self, make):
        return {device_id: make(device_id, keys) for device_id, keys in self.devices.items()}

    def junk(self, n, sender_key, olm_type=0, body_bytes=64):
        for _ in range(n):
            body = unpadded_b64(os.urandom(body_bytes))
            self.events.append(("m.room.encrypted", self.each_device(lambda d, keys: {
                "algorithm": OLM, "sender_key": sender_key(),
                "ciphertext": {keys["keys"][f"curve25519:{d}"]: {"type": olm_type, "body": body}}})))

    def unknown_types(self, n):
        for i in range(n):
            self.events.append((f"org.example.junk{i % 7}", self.each_device(
                lambda d, keys: {"blob": "x" * 10000, "nested": {"deep": [1, 2, {"k": "v"}]}})))

    def claim(self, device_id):
        claimed = self.mallory.request("POST", API + "/keys/claim",
                                       {"one_time_keys": {self.bot: {device_id: "signed_curve25519"}}})
        [key] = claimed["one_time_keys"][self.bot][device_id].values()
        return key["key"]

    def room_key_plaintext(self, account, keys, room):
        group = olm.OutboundGroupSession()
        return json.dumps({
            "type": "m.room_key", "sender": self.mallory.user_id, "sender_device": "MALLORY",
            "keys": {"ed25519": account.identity_keys["ed25519"]},
            "recipient": self.bot, "recipient_keys": {"ed25519": next(
                v for k, v in keys["keys"].items() if k.startswith("ed25519:"))},
            "content": {"algorithm": MEGOLM, "room_id": room, "session_id": group.id,
                        "session_key": group.session_key}})

    def room_keys_from_new_devices(self, n, room):
        """Real Olm pre-key messages, each from a device of mallory's own making: n Olm peers."""
        for _ in range(n):
            account = olm.Account()

            def make(device_id, keys, account=account):
                curve = keys["keys"][f"curve25519:{device_id}"]
                session = olm.OutboundSession(account, curve, self.claim(device_id))
                message = session.encrypt(self.room_key_plaintext(account, keys, room))
                return {"algorithm": OLM, "sender_key": account.identity_keys["curve25519"],
                        "ciphertext": {curve: {"type": message.message_type, "body": message.ciphertext}}}
            self.events.append(("m.room.encrypted", self.each_device(make)))

    def room_keys_over_one_session(self, n, room):
        """n room keys over one Olm session of one more device of mallory's."""
        account = olm.Account()
        sessions = {d: olm.OutboundSession(account, keys["keys"][f"curve25519:{d}"], self.claim(d))
                    for d, keys in self.devices.items()}
        for _ in range(n):
            def make(device_id, keys):
                message = sessions[device_id].encrypt(self.room_key_plaintext(account, keys, room))
                return {"algorithm": OLM, "sender_key": account.identity_keys["curve25519"],
                        "ciphertext": {keys["keys"][f"curve25519:{device_id}"]:
                                       {"type": message.message_type, "body": message.ciphertext}}}
            self.events.append(("m.room.encrypted", self.each_device(make)))

    def send_range(self, events):
        for event_type, messages in events:
            try:
                self.mallory.request("PUT", f"{API}/sendToDevice/{q(event_type)}/{uuid.uuid4().hex}",
                                     {"messages": {self.bot: messages}}, timeout=120)
                self.sent += 1
            except Exception as e:  # noqa: BLE001 - counted and reported by the test
                self.errors.append(repr(e))

    def start(self, events):
        threads = [threading.Thread(target=self.send_range, args=(events[i::SENDERS],))
                   for i in range(SENDERS)]
        for t in threads:
            t.start()
        return threads


def timed_say(sb, text):
    start = time.monotonic()
    event, reply = say_encrypted(sb, text)
    return event, reply, time.monotonic() - start


def test_a_flood_of_to_device_events_neither_stops_slows_nor_grows_the_bot(sb):
    alice, room = chat(sb)
    say_encrypted(sb, "help")
    mallory = sb.client("mallory")
    size_before, rss_before = store_size(sb), notifier_rss_kb(sb)
    mallory_keys_before = room_keys_of(crypto_store(sb), mallory.user_id)
    alice_curve = alice.nio.olm.account.identity_keys["curve25519"]
    pid = sb.notifier_property("MainPID")
    cursor = sb.journal_cursor()

    flood = Flood(sb, mallory)
    flood.junk(600, lambda: unpadded_b64(os.urandom(45000)))           # 60 KB keys: they grew the store to 72 MB
    flood.junk(900, lambda: unpadded_b64(os.urandom(32)), olm_type=0)  # keys of the right shape, junk bodies
    flood.junk(900, lambda: unpadded_b64(os.urandom(32)), olm_type=1)
    flood.unknown_types(600)
    flood.room_keys_from_new_devices(2 * PEERS_MAX, room)              # more Olm peers than are kept
    flood.room_keys_over_one_session(1000, room)                       # room keys from a non-member
    total = len(flood.events)
    assert total == 5000, total

    waits = []
    start = time.monotonic()
    # Five bursts of a thousand; alice asks something during each.
    for burst in range(5):
        threads = flood.start(flood.events[burst * 1000:(burst + 1) * 1000])
        event, reply, wait = timed_say(sb, "run price" if burst % 2 else "help")
        assert_encrypted_reply(sb, reply, event)
        waits.append(round(wait, 1))
        for t in threads:
            t.join()
    elapsed = time.monotonic() - start
    event, reply, wait = timed_say(sb, "help")
    waits.append(round(wait, 1))
    assert_encrypted_reply(sb, reply, event)
    assert "`run ping`" in reply["content"]["body"], reply["content"]
    assert not flood.errors, flood.errors[:3]

    size_after, rss_after = store_size(sb), notifier_rss_kb(sb)
    held = crypto_store(sb)
    said = sb.notifier_said(cursor).splitlines()
    print(f"    {flood.sent} to-device events sent in {elapsed:.0f} s; alice's answers came in {waits} s;"
          f" crypto.json {size_before / 1024:.0f} KB -> {size_after / 1024:.0f} KB"
          f" (bound {STORE_BOUND // 1024 // 1024} MB); notifier RSS {rss_before / 1024:.1f} MB ->"
          f" {rss_after / 1024:.1f} MB; Olm peers held {len(held['olm'])}, Megolm sessions"
          f" {len(held['inbound'])}; the notifier said {len(said)} lines", flush=True)
    assert sb.notifier_property("MainPID") == pid, "the notifier was restarted"
    assert size_after < STORE_BOUND, size_after
    assert len(held["olm"]) <= PEERS_MAX, len(held["olm"])
    assert all(len(key) == 43 for key in held["olm"]), "a key of the wrong shape was kept"
    assert alice_curve in held["olm"], "alice's Olm session was pushed out by strangers'"
    assert room_keys_of(held, mallory.user_id) <= mallory_keys_before, "a room key of a non-member was kept"
    # AddressSanitizer holds freed memory back (its quarantine): RSS says nothing there.
    if "sanitizers.conf" not in sb.notifier_property("DropInPaths"):
        assert rss_after - rss_before < RSS_GROWTH_MAX_KB, (rss_before, rss_after)
    # Five warnings a minute, and what alice asked: the journal does not grow with the flood either.
    assert len(said) < JOURNAL_LINES_MAX, said[:20]

    # After a restart: the same device, in the same encrypted chat.
    before = bot_device_keys(sb, alice)
    sb.restart_notifier()
    event, reply = say_encrypted(sb, "help")
    assert_encrypted_reply(sb, reply, event)
    assert bot_device_keys(sb, alice) == before, "the bot came back as another device"


def test_invites_in_bulk_are_declined_and_owners_still_answered(sb):
    mallory = sb.client("mallory")
    bot = sb.env["BOT_USER"]
    rooms = []
    for i in range(40):
        # Some with the largest room name the homeserver takes in their invite state.
        rooms.append(mallory.create_room(invite=[bot], name=("N" * 60000) if i % 4 == 0 else f"junk {i}"))
    event, reply, wait = timed_say(sb, "help")
    assert_encrypted_reply(sb, reply, event)
    for room in rooms:
        wait_membership(mallory, room, bot, "leave", timeout_s=60)
    print(f"    {len(rooms)} invites from a stranger declined; alice's answer came in {wait:.1f} s", flush=True)
    for room in rooms:
        assert bot not in mallory.joined_members(room)


TESTS = [
    test_a_flood_of_to_device_events_neither_stops_slows_nor_grows_the_bot,
    test_invites_in_bulk_are_declined_and_owners_still_answered,
]

if __name__ == "__main__":
    sys.exit(run_encrypted_tests(TESTS))
