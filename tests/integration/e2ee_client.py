"""Alice's own E2EE client (matrix-nio, with olm) for the drivers that talk to the bot encrypted
(test_e2ee, test_strangers, test_alerts): her devices, her encrypted direct chat with the bot, and
what the homeserver holds of it.

run_encrypted_tests() runs a driver's tests and closes every device they made."""

import asyncio
import base64
import sys
import tempfile
import time

from nio import AsyncClient, AsyncClientConfig, LoginResponse, MegolmEvent, RoomCreateResponse
from nio import RoomPreset, RoomSendResponse, SyncResponse
from nio.exceptions import EncryptionError

from harness import Sandbox, run_tests, wait_membership, wait_reply
from matrix import API, Client, describe, q

CRYPTO_STORE = "/var/lib/scheduler/crypto.json"
MEGOLM = "m.megolm.v1.aes-sha2"
SYNC_FILTER = {"presence": {"not_types": ["*"]}, "room": {"timeline": {"limit": 100}}}
LOOP = asyncio.new_event_loop()
DEVICES = []


class Device(Client):
    """One E2EE device of a user. nio does the crypto and the /sync; timelines hold each event
    as alice reads it (decrypted when it can be), so harness.wait_reply works on it as it does
    on a plaintext Client. Raw requests (Client.request, send_event) go out with this device's
    token but never /sync, which would take this device's to-device messages away from nio."""

    def __init__(self, sb, who=None, user=None, password=None):
        """who: a sandbox user (alice, bob); or user and password of one registered meanwhile."""
        super().__init__(sb.env["HS_URL"], user or sb.env[who.upper() + "_USER"],
                         password or sb.env[who.upper() + "_PASSWORD"])
        self.store = tempfile.TemporaryDirectory(prefix="scheduler-e2ee-")
        self.nio = AsyncClient(self.hs_url, self.user_id, store_path=self.store.name,
                               config=AsyncClientConfig(encryption_enabled=True))
        self.undecrypted = []  # MegolmEvents whose room key has not come (yet)
        self.to_device = []    # every to-device event received, as nio parsed it
        DEVICES.append(self)

    def run(self, coro):
        return LOOP.run_until_complete(coro)

    def login(self):
        resp = self.run(self.nio.login(self.password, device_name="integration test (E2EE)"))
        assert isinstance(resp, LoginResponse), resp
        self.token = self.nio.access_token
        self.run(self.keys())
        return self

    async def keys(self):
        """What nio's sync_forever does between syncs: our keys up, others' keys down, Olm
        sessions claimed, queued to-device messages (room keys) out."""
        if self.nio.should_upload_keys:
            await self.nio.keys_upload()
        if self.nio.should_query_keys:
            await self.nio.keys_query()
        if self.nio.should_claim_keys:
            await self.nio.keys_claim(self.nio.get_users_for_key_claiming())
        await self.nio.send_to_device_messages()

    def sync_once(self, timeout_ms=0):
        resp = self.run(self.nio.sync(timeout=int(timeout_ms), sync_filter=SYNC_FILTER))
        assert isinstance(resp, SyncResponse), resp
        self.run(self.keys())
        self.to_device.extend(resp.to_device_events)
        # A room key may come after the message it opens: retry those still locked.
        still = []
        for event in self.undecrypted:
            try:
                self.timelines[event.room_id].append(self.nio.decrypt_event(event).source)
            except EncryptionError:
                still.append(event)
        self.undecrypted = still
        for room_id, room in resp.rooms.join.items():
            for event in room.timeline.events:
                if isinstance(event, MegolmEvent):
                    event.room_id = room_id
                    self.undecrypted.append(event)
                self.timelines.setdefault(room_id, []).append(event.source)
        self.invites.update(resp.rooms.invite)
        self.invites.difference_update(resp.rooms.join)
        self.since = resp.next_batch
        return resp

    def trust(self):
        """Trust on first use: every device nio has fetched (the bot's and alice's) is marked
        verified, so room_send shares the room key with them. nio 0.20 knows no cross-signing;
        test_bot_devices_are_cross_signed checks the bot's signatures itself."""
        for device in self.nio.device_store:
            if device.id != self.nio.device_id and not self.nio.olm.is_device_verified(device):
                self.nio.verify_device(device)

    async def send(self, room, content):
        if not self.nio.rooms[room].members_synced:
            await self.nio.joined_members(room)
        await self.keys()
        self.trust()
        resp = await self.nio.room_send(room, "m.room.message", content)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    def send_text(self, room, body, msgtype="m.text"):
        return self.run(self.send(room, {"msgtype": msgtype, "body": body}))

    def create_encrypted_dm(self, invite):
        encryption = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
        resp = self.run(self.nio.room_create(is_direct=True, preset=RoomPreset.trusted_private_chat,
                                             invite=[invite], initial_state=[encryption]))
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    def wait_to_device(self, predicate, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while not any(predicate(e.source) for e in self.to_device):
            left = deadline - time.monotonic()
            if left <= 0:
                seen = ", ".join(e.source.get("type", "?") for e in self.to_device) or "nothing"
                raise TimeoutError(f"{self.user_id}: no such to-device event in {timeout_s} s; seen: {seen}")
            self.sync_once(timeout_ms=min(left, 10) * 1000)
        return next(e.source for e in self.to_device if predicate(e.source))


def chat(sb):
    """Alice's encrypted direct chat with the bot, made once, and her first device: (device, room)."""
    if "e2ee" not in sb.rooms:
        alice = Device(sb, "alice").login()
        room = alice.create_encrypted_dm(sb.env["BOT_USER"])
        wait_membership(alice, room, sb.env["BOT_USER"], "join")
        sb.rooms["e2ee"] = (alice, room)
    return sb.rooms["e2ee"]


def say_encrypted(sb, text):
    """Alice sends text encrypted from her first device: (event id, the bot's reply decrypted)."""
    alice, room = chat(sb)
    event = alice.send_text(room, text)
    return event, wait_reply(alice, room, event, sb.env["BOT_USER"])


def on_the_wire(client, room, event_id):
    """The event as the homeserver holds it."""
    return client.request("GET", f"{API}/rooms/{q(room)}/event/{q(event_id)}")


def assert_encrypted_reply(sb, reply, command):
    alice, room = chat(sb)
    assert "event_id" in reply and reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    raw = on_the_wire(alice, room, reply["event_id"])
    assert raw["type"] == "m.room.encrypted", describe(raw)
    assert raw["content"]["algorithm"] == MEGOLM and "body" not in raw["content"], raw["content"]


def bot_device_keys(sb, client):
    bot = sb.env["BOT_USER"]
    keys = client.request("POST", API + "/keys/query", {"device_keys": {bot: []}})
    return keys.get("device_keys", {}).get(bot, {})


def unpadded_b64(data):
    return base64.b64encode(data).decode().rstrip("=")


def run_encrypted_tests(tests):
    """Runs tests on the sandbox of argv[1], then closes every E2EE device they made."""
    status = run_tests(tests, Sandbox(sys.argv[1]))
    for device in DEVICES:
        device.run(device.nio.close())
        device.store.cleanup()
    return status

