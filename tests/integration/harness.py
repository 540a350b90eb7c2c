"""What every integration driver shares: the sandbox's env, customers' clients, what they say and
what the bot answers, the configuration, the journal's results, schedules' timers and store, and
a tiny test runner that prints one line per test and "N passed, N failed". Drivers import from
here (and matrix.py, playbook.py, e2ee_client.py), never from each other."""

import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import API, Client, load_env, q  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "..", "sandbox", "sandbox")
INITIATED = ("Command execution initiated. Please be patient, as this may take some time. "
             "You'll receive a notification upon completion.")


class Sandbox:
    def __init__(self, env_path):
        self.env = load_env(env_path)
        self.name = self.env["SANDBOX_NAME"]
        self.rooms = {}

    def run(self, *args, check=True, input_text=None, timeout=None):
        """Runs `sandbox ARGS… --name NAME` and returns its stdout."""
        cmd = [SANDBOX, args[0], "--name", self.name, *args[1:]]
        return subprocess.run(cmd, check=check, capture_output=True, text=True,
                              input=input_text, timeout=timeout).stdout

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
        """Restarts the notifier, as an operator would after editing the configuration;
        reset-failed first, since tests restart it more often than its unit's start limit allows
        (it fails, harmlessly, when the unit is stopped and unloaded).
        systemctl returns once it is active again, and being Type=notify it is active only after
        its first sync with the homeserver."""
        self.run("control", "systemctl", "reset-failed", "scheduler-notifier.service", check=False)
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


def wait_for(what, predicate, timeout_s):
    """predicate()'s first true value, polled until timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.5)


def is_edit_of(event_id, sender):
    def predicate(e):
        rel = e.get("content", {}).get("m.relates_to", {})
        return (e.get("type") == "m.room.message" and e.get("sender") == sender
                and rel.get("rel_type") == "m.replace" and rel.get("event_id") == event_id)
    return predicate


def ask(sb, text, who="alice", timeout_s=30):
    """who sends text in the customer room: (client, room, event id, the bot's reply)."""
    client, room = sb.customer_room(who)
    event = client.send_text(room, text)
    return client, room, event, wait_reply(client, room, event, sb.env["BOT_USER"], timeout_s)


def say(sb, text, who="alice", timeout_s=30):
    """who sends text in the customer room: (event id, the body of the bot's reply)."""
    _, _, event, reply = ask(sb, text, who, timeout_s)
    return event, reply["content"]["body"]


def result_of(client, room, event_id, bot, timeout_s=60):
    """The bot's "Execution of …" reply to a command."""
    client.cursors[room] = 0
    return client.wait_for_event(
        room, lambda e: is_reply_to(event_id, bot)(e)
        and e["content"]["body"].startswith("Execution of"), timeout_s)


def customer_result(sb, event, who="alice", timeout_s=60):
    """result_of() a command who sent in the customer room."""
    client, room = sb.customer_room(who)
    return result_of(client, room, event, sb.env["BOT_USER"], timeout_s)


def results_to(sb, event, who="alice"):
    """The bot's "Execution of …" replies to one command, after a marker command was answered (so
    any second one would have come by now)."""
    client, room = sb.customer_room(who)
    say(sb, "help", who, timeout_s=60)
    return [e["content"]["body"] for e in replies_to(client, room, event, sb.env["BOT_USER"])
            if e["content"]["body"].startswith("Execution of")]


def run_command(sb, text, who="alice"):
    """Sends a run command; returns (event id, initiated reply, result reply)."""
    client, room, event, first = ask(sb, text, who)
    assert first["content"]["body"] == INITIATED, first["content"]
    return event, first, result_of(client, room, event, sb.env["BOT_USER"])


def kill_notifier_mid_run(sb, event, after_kill=None, timeout_s=120):
    """SIGKILLs the notifier while the run alice's command event started goes on (after_kill(),
    if given, runs right after the kill): the run's result must still come, once, from a new
    notifier. Returns the result's body."""
    client, room = sb.customer_room()
    pid = sb.notifier_property("MainPID")
    sb.run("control", "systemctl", "kill", "--signal=KILL", "scheduler-notifier.service")
    if after_kill:
        after_kill()
    body = result_of(client, room, event, sb.env["BOT_USER"], timeout_s)["content"]["body"]
    results = results_to(sb, event)
    assert len(results) == 1, results
    assert sb.notifier_property("MainPID") != pid
    return body


def bot_history(client, room, bot):
    """The bot's messages in room, oldest first, read from the room's history (a client's /sync
    shows only the last hundred events of a busy room)."""
    flt = json.dumps({"senders": [bot], "types": ["m.room.message"]})
    chunk = client.request("GET", f"{API}/rooms/{q(room)}/messages",
                           query={"dir": "b", "limit": 1000, "filter": flt})["chunk"]
    return list(reversed(chunk))


def replied_to(event):
    """The event id event replies to, or None."""
    return event["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


def bot_answers(client, room, bot, commands):
    """command → the bodies of the bot's replies to it, oldest first, from the room's history."""
    answers = {cmd: [] for cmd in commands}
    for e in bot_history(client, room, bot):
        if replied_to(e) in answers:
            answers[replied_to(e)].append(e["content"]["body"])
    return answers


def run_units(sb):
    """The scheduler's run units (of `run` commands) loaded in systemd, sorted."""
    out = sb.run("control", "systemctl", "list-units", "--all", "--no-legend", "--plain",
                 "scheduler-*-run-*")
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def soon(minutes=1):
    """A whole minute at least `minutes` ahead (and 20 s at least), as "YYYY-MM-DD HH:MM"."""
    now = datetime.datetime.now(datetime.timezone.utc)
    t = (now + datetime.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    if (t - now).total_seconds() < 20:
        t += datetime.timedelta(minutes=1)
    return t.strftime("%Y-%m-%d %H:%M")


def timers(sb, customer="acme"):
    """The customer's timers that are running (waiting to elapse)."""
    out = sb.run("control", "systemctl", "list-units", "--state=active", "--no-legend", "--plain",
                 "--type=timer", f"scheduler-{customer}-*")
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def schedule_store(sb, customer="acme"):
    """The customer's schedules as the notifier stored them (schedules.d), "" if none."""
    path = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler/schedules.d", f"{customer}.conf")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def listed(body, entry):
    """The id of the line "* #ID entry" of a `list schedules` or `list recurring` answer, or None."""
    for line in body.splitlines():
        m = re.fullmatch(r"\* #([0-9]+) (.*)", line)
        if m and m.group(2) == entry:
            return int(m.group(1))
    return None


def edit_config(sb, edit):
    """Applies edit(text) to the control host's scheduler.conf; returns the text before."""
    path = sb.env["CONTROL_CONFIG"]
    with open(path, encoding="utf-8") as f:
        before = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(edit(before))
    return before


def restore_config(sb, text):
    """scheduler.conf back to text, and the notifier restarted on it."""
    with open(sb.env["CONTROL_CONFIG"], "w", encoding="utf-8") as f:
        f.write(text)
    sb.restart_notifier()


def results(sb, *matches):
    """The result entries in the journal (SCHEDULER_EVENT=result) that match each of matches."""
    out = sb.run("journal", "SCHEDULER_EVENT=result", *matches, "-o", "json", "--no-pager")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def monitor_results(sb, customer):
    return results(sb, "SCHEDULER_MODE=monitor", f"SCHEDULER_CUSTOMER={customer}")


def monitoring_run(sb, customer):
    """Starts the customer's monitoring once and waits until its result is in the journal."""
    before = len(monitor_results(sb, customer))
    unit = f"scheduler-{customer}-monitor.service"
    # Tests start it more often than systemd's default start limit (5 in 10 s) allows.
    sb.run("control", "systemctl", "reset-failed", unit, check=False)
    sb.run("control", "systemctl", "start", unit)
    wait_for(f"a monitoring result of {customer}", lambda: len(monitor_results(sb, customer)) > before, 120)


def monitoring_memory(sb):
    """Monitoring's memory, per customer, as the notifier saved it (monitoring.json)."""
    path = os.path.join(sb.env["CONTROL_ROOT"], "var/lib/scheduler/monitoring.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["alerts"]


def saved_memory(sb, customer):
    """monitoring.json once the customer's newest monitoring run is applied in it (the notifier
    saves within seconds of reading it)."""
    newest = int(monitor_results(sb, customer)[-1]["__REALTIME_TIMESTAMP"])

    def applied():
        try:
            memory = monitoring_memory(sb)
        except FileNotFoundError:
            return None
        return memory if memory.get(customer, {}).get("last") == newest else None
    return wait_for(f"{customer}'s newest monitoring run in monitoring.json", applied, 30)


def register(sb, user, password):
    """A new user through Synapse's shared-secret registration (what the sandbox does at start)."""
    hs = sb.env["HS_URL"]
    with urllib.request.urlopen(f"{hs}/_synapse/admin/v1/register", timeout=30) as r:
        nonce = json.load(r)["nonce"]
    mac = hmac.new(sb.env["REGISTRATION_SECRET"].encode(), digestmod=hashlib.sha1)
    mac.update(b"\0".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
    body = json.dumps({"nonce": nonce, "username": user, "password": password, "admin": False,
                       "mac": mac.hexdigest()}).encode()
    req = urllib.request.Request(f"{hs}/_synapse/admin/v1/register", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30):
        pass
    return f"@{user}:{sb.env['SERVER_NAME']}"


def silent_listener():
    """A TCP port that accepts connections and never says a word (a hung sshd)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


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
