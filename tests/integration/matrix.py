"""A small Matrix client-server API client for the integration test drivers.

Standard library only, so it runs under Debian's /usr/bin/python3 with nothing installed.
One Client is one logged-in user with one /sync stream; every timeline event it receives is
kept per room, so a driver can wait for a reply without racing the sync that delivered it.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

API = "/_matrix/client/v3"

# Only timelines matter to the drivers; presence, account data and typing are noise.
SYNC_FILTER = json.dumps({
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": 100},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "state": {"lazy_load_members": True},
    },
}, separators=(",", ":"))


def load_env(path):
    """Reads the sandbox's KEY=VALUE env file into a dict."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


class MatrixError(Exception):
    def __init__(self, method, path, status, body):
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> HTTP {status}: {body}")


def q(s):
    """Quotes one path segment (room ids hold '!' and ':')."""
    return urllib.parse.quote(s, safe="")


def describe(event):
    """One short line per event, for error messages."""
    content = event.get("content", {})
    what = content.get("body", content.get("membership", ""))
    return f"{event.get('sender')} {event.get('type')}: {what!r}"


class Client:
    def __init__(self, hs_url, user_id, password):
        self.hs_url = hs_url.rstrip("/")
        self.user_id = user_id
        self.password = password
        self.token = None
        self.since = None
        self.timelines = {}   # room id -> every timeline event seen, in order
        self.cursors = {}     # room id -> index after the last event wait_for_event returned
        self.invites = set()  # room ids this user is invited to and has not joined yet

    def request(self, method, path, body=None, query=None, timeout=30):
        url = self.hs_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        while True:
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as e:
                text = e.read().decode(errors="replace")
                if e.code != 429:
                    raise MatrixError(method, path, e.code, text) from None
                # Rate limited: wait exactly as long as the server says, then repeat.
                try:
                    wait_ms = json.loads(text).get("retry_after_ms", 1000)
                except ValueError:
                    wait_ms = 1000
                time.sleep(wait_ms / 1000)

    def login(self):
        resp = self.request("POST", API + "/login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": self.password,
            "initial_device_display_name": "integration test",
        })
        self.token = resp["access_token"]
        return self

    def create_room(self, invite=(), name=None, direct=False):
        body = {
            "preset": "trusted_private_chat" if direct else "private_chat",
            "invite": list(invite),
            "is_direct": direct,
        }
        if name is not None:
            body["name"] = name
        return self.request("POST", API + "/createRoom", body)["room_id"]

    def invite(self, room, user):
        self.request("POST", f"{API}/rooms/{q(room)}/invite", {"user_id": user})

    def join(self, room):
        room_id = self.request("POST", f"{API}/join/{q(room)}", {})["room_id"]
        self.invites.discard(room_id)
        return room_id

    def send_event(self, room, type, content):
        # A fresh transaction id per call: a retried request is deduplicated by the server.
        txn = uuid.uuid4().hex
        path = f"{API}/rooms/{q(room)}/send/{q(type)}/{txn}"
        return self.request("PUT", path, content)["event_id"]

    def send_text(self, room, body, msgtype="m.text"):
        return self.send_event(room, "m.room.message", {"msgtype": msgtype, "body": body})

    def joined_members(self, room):
        resp = self.request("GET", f"{API}/rooms/{q(room)}/joined_members")
        return sorted(resp.get("joined", {}))

    def sync_once(self, timeout_ms=0):
        """One /sync call from the last position; records timelines and invites."""
        query = {"timeout": int(timeout_ms), "filter": SYNC_FILTER}
        if self.since:
            query["since"] = self.since
        resp = self.request("GET", API + "/sync", query=query, timeout=timeout_ms / 1000 + 30)
        rooms = resp.get("rooms", {})
        for room_id, room in rooms.get("join", {}).items():
            events = room.get("timeline", {}).get("events", [])
            self.timelines.setdefault(room_id, []).extend(events)
        self.invites.update(rooms.get("invite", {}))
        self.invites.difference_update(rooms.get("join", {}))
        self.since = resp["next_batch"]
        return resp

    def wait_for_event(self, room, predicate, timeout_s=30):
        """Returns the first event in the room's timeline, after the one the previous call
        returned, for which predicate(event) is true; long-polls /sync until it comes.
        Raises TimeoutError listing the events it saw instead."""
        deadline = time.monotonic() + timeout_s
        start = self.cursors.get(room, 0)
        checked = start
        while True:
            timeline = self.timelines.get(room, [])
            for i in range(checked, len(timeline)):
                if predicate(timeline[i]):
                    self.cursors[room] = i + 1
                    return timeline[i]
            checked = len(timeline)
            left = deadline - time.monotonic()
            if left <= 0:
                seen = "\n  ".join(describe(e) for e in timeline[start:]) or "(nothing)"
                raise TimeoutError(
                    f"{self.user_id}: no matching event in {room} within {timeout_s} s; "
                    f"seen since the last match:\n  {seen}")
            self.sync_once(timeout_ms=min(left, 10) * 1000)

    def skip_to_end(self, room):
        """Catches up, then makes wait_for_event ignore everything already in the room."""
        self.sync_once(0)
        self.cursors[room] = len(self.timelines.get(room, []))

    def events_since_start(self, room):
        """Every m.room.message this client has seen in the room so far."""
        return [e for e in self.timelines.get(room, []) if e.get("type") == "m.room.message"]
