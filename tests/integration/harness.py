"""What every integration driver shares: the sandbox's env, customers' clients, and a tiny
test runner that prints one line per test and "N passed, N failed"."""

import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import Client, load_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "..", "sandbox", "sandbox")


class Sandbox:
    def __init__(self, env_path):
        self.env = load_env(env_path)
        self.name = self.env["SANDBOX_NAME"]
        self.rooms = {}

    def run(self, *args, check=True, input_text=None):
        """Runs `sandbox ARGS… --name NAME` and returns its stdout."""
        cmd = [SANDBOX, args[0], "--name", self.name, *args[1:]]
        return subprocess.run(cmd, check=check, capture_output=True, text=True,
                              input=input_text).stdout

    def client(self, who):
        who = who.upper()
        return Client(self.env["HS_URL"], self.env[who + "_USER"], self.env[who + "_PASSWORD"]).login()

    def customer_room(self, who="alice"):
        """A room of one customer's user with the bot in it, made once per user: (client, room)."""
        if who not in self.rooms:
            client = self.client(who)
            room = client.create_room(invite=[self.env["BOT_USER"]], name=f"{who} and the scheduler")
            wait_membership(client, room, self.env["BOT_USER"], "join")
            self.rooms[who] = (client, room)
        return self.rooms[who]

    def notifier_property(self, prop):
        out = self.run("control", "systemctl", "show", "-P", prop, "scheduler-notifier.service")
        return out.strip()

    def journal_cursor(self):
        """The control container's journal's end, for notifier_said() and wait_notifier_said()."""
        return self.run("journal", "-n", "0", "--show-cursor", "--no-pager").strip().split("cursor: ")[-1]

    def notifier_said(self, cursor):
        return self.run("journal", "--after-cursor", cursor, "-t", "scheduler-notifier", "-o", "cat",
                        "--no-pager")

    def wait_notifier_said(self, cursor, *texts, timeout_s=15):
        """What the notifier said since cursor, once it has said each of texts or timeout_s have
        passed (the caller asserts): what a process said may reach the journal's files late."""
        deadline = time.monotonic() + timeout_s
        while True:
            said = self.notifier_said(cursor)
            if all(text in said for text in texts) or time.monotonic() > deadline:
                return said
            self.run("control", "journalctl", "--sync")

    def start_fails_saying(self, *texts):
        """Starts the notifier, which must not come up; its journal since then must say each of
        texts. Leaves it stopped, and returns what it said."""
        cursor = self.journal_cursor()
        self.run("control", "systemctl", "start", "scheduler-notifier.service", check=False)
        state = self.notifier_property("ActiveState")
        said = self.wait_notifier_said(cursor, *texts)
        self.run("control", "systemctl", "stop", "scheduler-notifier.service")
        assert state != "active", f"the notifier is {state}; it said:\n{said}"
        for text in texts:
            assert text in said, (text, said)
        return said

    def restart_notifier(self):
        """Restarts the notifier; systemctl returns once it is active again, and being
        Type=notify it is active only after its first sync with the homeserver."""
        self.run("control", "systemctl", "restart", "scheduler-notifier.service")
        state = self.notifier_property("ActiveState")
        assert state == "active", f"notifier {state} after a restart"


def is_reply_to(event_id, sender):
    def predicate(e):
        rel = e.get("content", {}).get("m.relates_to", {})
        return (e.get("type") == "m.room.message" and e.get("sender") == sender
                and rel.get("m.in_reply_to", {}).get("event_id") == event_id)
    return predicate


def replies_to(client, room, event_id, sender):
    return [e for e in client.timelines.get(room, []) if is_reply_to(event_id, sender)(e)]


def wait_reply(client, room, event_id, sender, timeout_s=30):
    """The bot's reply to one message, wherever it is in the room's timeline."""
    client.cursors[room] = 0
    return client.wait_for_event(room, is_reply_to(event_id, sender), timeout_s)


def wait_membership(client, room, user, membership, timeout_s=30):
    client.cursors[room] = 0
    return client.wait_for_event(room, lambda e: e.get("type") == "m.room.member"
                                 and e.get("state_key") == user
                                 and e.get("content", {}).get("membership") == membership, timeout_s)


def wait_runs_ended(sb, customer, command, timeout_s=60):
    """Until no `run COMMAND` of the customer's is loaded: a result comes before its unit is gone
    (its ExecStopPost still runs, slowly in a sanitized build), and a command runs once at a time."""
    deadline = time.monotonic() + timeout_s
    while sb.run("control", "systemctl", "list-units", "--no-legend", "--plain",
                 f"scheduler-{customer}-{command}-run-*").strip():
        assert time.monotonic() < deadline, f"{customer}'s last {command} did not end"
        time.sleep(0.2)


def notification_of(client, event_id, timeout_s=30):
    """client's own notification of event_id (GET /notifications), once the homeserver has one;
    None if it has none within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [n for n in client.request("GET", "/_matrix/client/v3/notifications",
                                           query={"limit": "100"})["notifications"]
                 if n["event"]["event_id"] == event_id]
        if found or time.monotonic() > deadline:
            return found[0] if found else None
        time.sleep(0.2)


def highlighted(notification):
    """Whether a notification rings as a mention (the highlight tweak of the push rule that hit)."""
    return any(isinstance(a, dict) and a.get("set_tweak") == "highlight" and a.get("value", True)
               for a in (notification or {}).get("actions", []))


def run_tests(tests, *args):
    passed = failed = 0
    for test in tests:
        start = time.monotonic()
        try:
            test(*args)
            passed += 1
            print(f"ok   {test.__name__} ({time.monotonic() - start:.1f} s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure, run the rest
            failed += 1
            print(f"FAIL {test.__name__} ({time.monotonic() - start:.1f} s)", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0
