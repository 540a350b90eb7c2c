"""Least privilege, as installed: the notifier runs as the `scheduler` system user (sysusers.d),
never root; that user may start and stop the scheduler-* units and no other (the polkit rule).
Every task runs as a user systemd makes for its unit (DynamicUser=), with its own customer's SSH
key handed to it (LoadCredential=) and nothing else of the secrets or the notifier's state, and no
right to create units. `systemd-analyze security` rates the notifier and a task unit at 2.0 or
better; the secrets never show in the journal, a process's argv or the chat.

Usage: /usr/bin/python3 tests/integration/test_privilege.py ENVFILE
"""

import json
import os
import re
import sys

from harness import Sandbox, customer_result, is_reply_to, run_tests, say, wait_reply, wait_runs_ended

USER = "scheduler"
SECRETS = "/etc/scheduler/secrets"
# A far-off one-shot whose service stays loaded, waiting, while the test looks at it.
SCHEDULE = "schedule disk 2027-06-05 05:00"
EXPOSURE_MAX = 2.0


def control(sb, *args, check=True):
    return sb.run("control", *args, check=check)


def as_user(sb, user, *args):
    """Runs a command in the control container as user: (exit status, output)."""
    out = control(sb, "sh", "-c", 'setpriv --reuid="$0" --regid="$(id -g "$0")" --init-groups "$@" 2>&1; '
                  'echo "status=$?"', user, *args)
    said, _, status = out.rstrip("\n").rpartition("status=")
    return int(status), said


def as_scheduler(sb, *args):
    return as_user(sb, USER, *args)


def uid_of(sb, user):
    return int(control(sb, "id", "-u", user))


def test_the_notifier_runs_as_its_own_user(sb):
    assert sb.notifier_property("User") == USER
    pid = sb.notifier_property("MainPID")
    status = control(sb, "cat", f"/proc/{pid}/status")
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    assert set(map(int, uids)) == {uid_of(sb, USER)}, uids
    caps = re.search(r"^CapEff:\s+(\S+)$", status, re.M).group(1)
    assert int(caps, 16) == 0, caps
    # And still answers, with none of root's powers.
    assert "Modes:" in say(sb, "help")[1]


# systemd's range for the users it makes for units (DynamicUser=).
DYNAMIC_UIDS = range(61184, 65520)


def test_tasks_run_as_users_of_their_own(sb):
    uids = set()
    for _ in range(2):
        wait_runs_ended(sb, "acme", "disk")
        event, _ = say(sb, "run disk")
        customer_result(sb, event)
        out = sb.run("journal", f"SCHEDULER_REPLY_TO={event}", "-o", "json", "--no-pager")
        entries = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert entries, "no journal entry of the run"
        run_uids = {int(e["_UID"]) for e in entries if "_UID" in e}
        assert len(run_uids) == 1 and run_uids <= set(DYNAMIC_UIDS), run_uids
        uids |= run_uids
    assert uid_of(sb, USER) not in uids and 0 not in uids, uids


def task_service(sb):
    out = control(sb, "systemctl", "list-units", "--all", "--no-legend", "--plain",
                  "scheduler-acme-disk-at-202706050500*.service")
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert len(names) == 1, out
    return names[0]


def exposure(sb, unit):
    out = control(sb, "systemd-analyze", "security", "--no-pager", unit)
    return float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out).group(1))


def sanitized(sb):
    """A sanitized build loosens the system call filter for LeakSanitizer (see tests/sandbox)."""
    return "sanitizers.conf" in sb.notifier_property("DropInPaths")


def test_exposure_of_the_notifier_and_a_task(sb):
    say(sb, SCHEDULE)
    try:
        service = task_service(sb)
        assert control(sb, "systemctl", "show", "-P", "DynamicUser", service).strip() == "yes"
        scores = {"scheduler-notifier.service": exposure(sb, "scheduler-notifier.service"),
                  "a task (" + service + ")": exposure(sb, service)}
    finally:
        say(sb, "cancel " + " ".join(SCHEDULE.split()[1:]))
    for unit, score in scores.items():
        print(f"    systemd-analyze security: {unit}: {score}", flush=True)
    if sanitized(sb):
        print("    sanitized build: no system call filter, the scores are not checked", flush=True)
        return
    assert all(score <= EXPOSURE_MAX for score in scores.values()), scores


# Started means active: a oneshot that remains so after its /bin/true.
PROBE = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
PROBES = ("scheduler-privilege-probe.service", "other-privilege-probe.service")


def ran(sb, unit):
    return control(sb, "systemctl", "is-active", unit, check=False).strip() == "active"


def test_it_may_start_scheduler_units_and_no_other(sb):
    for name in PROBES:
        sb.run("control", "sh", "-c", 'cat > "/run/systemd/system/$0"', name, input_text=PROBE)
    control(sb, "systemctl", "daemon-reload")
    try:
        status, said = as_scheduler(sb, "systemctl", "--no-ask-password", "start", "other-privilege-probe.service")
        assert status != 0 and not ran(sb, "other-privilege-probe.service"), said
        status, said = as_scheduler(sb, "systemctl", "--no-ask-password", "start",
                                    "scheduler-privilege-probe.service")
        assert status == 0 and ran(sb, "scheduler-privilege-probe.service"), said
        # Stopping or restarting what is not ours, reloading systemd, enabling units: all refused.
        for args in (("restart", "systemd-journald.service"), ("stop", "dbus.service"),
                     ("daemon-reload",), ("enable", "other-privilege-probe.service")):
            status, said = as_scheduler(sb, "systemctl", "--no-ask-password", *args)
            assert status != 0, (args, said)
        assert control(sb, "systemctl", "is-active", "dbus.service", "systemd-journald.service").split() == \
            ["active", "active"]
    finally:
        control(sb, "systemctl", "stop", *PROBES)
        for name in PROBES:
            control(sb, "rm", "-f", f"/run/systemd/system/{name}")
        control(sb, "systemctl", "daemon-reload")


# The sandbox's secrets, as its configuration names them.
SECRET_FILES = ("matrix-password", "crypto-key", "acme.key", "globex.key")


def test_secrets_are_that_users_alone(sb):
    listing = control(sb, "stat", "-c", "%U %a %n", SECRETS, *[f"{SECRETS}/{name}" for name in SECRET_FILES])
    rows = [line.split(" ", 2) for line in listing.splitlines()]
    assert rows[0] == [USER, "700", SECRETS], rows[0]
    for owner, mode, path in rows[1:]:
        assert owner == USER and mode == "600", (owner, mode, path)
    for name in ("state.json", "crypto.json"):
        owner, mode, path = control(sb, "stat", "-c", "%U %a %n", f"/var/lib/scheduler/{name}").split()
        assert owner == USER and mode == "600", (owner, mode, path)


def test_no_secret_in_the_journal_argv_or_chat(sb):
    secrets = [control(sb, "cat", f"{SECRETS}/{name}").strip()
               for name in ("matrix-password", "crypto-key")]
    key = control(sb, "cat", f"{SECRETS}/acme.key").splitlines()
    secrets += [line for line in key if line and not line.startswith("-----")][:2]
    journal = sb.run("journal", "--no-pager", "-o", "verbose")
    argv = control(sb, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    client, room = sb.customer_room()
    chat = json.dumps(client.events_since_start(room))
    for secret in secrets:
        assert len(secret) >= 16
        for where, text in (("journal", journal), ("argv", argv), ("chat", chat)):
            assert secret not in text, f"a secret in the {where}"


# Runs in acme's maintenance unit as the operator's command: what a task that a hostile server or
# a bug had taken over could reach. Prints no secret, only whether each read worked.
PROBE_SCRIPT = """#!/bin/sh
try() {
        what=$1; shift
        if out=$("$@" 2>&1 >/dev/null); then echo "probe: $what: allowed"
        else echo "probe: $what: refused ($(echo "$out" | head -n 1))"; fi
}
echo "probe: uid: $(id -u)"
try "own key" cat "$SCHEDULER_SSH_KEY_FILE"
try "globex key" cat /etc/scheduler/secrets/globex.key
try "acme key file" cat /etc/scheduler/secrets/acme.key
try "state.json" cat /var/lib/scheduler/state.json
try "crypto.json" cat /var/lib/scheduler/crypto.json
try "crypto key" cat /etc/scheduler/secrets/crypto-key
try "schedules" ls /etc/scheduler/schedules.d
try "StartTransientUnit" busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \\
        org.freedesktop.systemd1.Manager StartTransientUnit 'ssa(sv)a(sa(sv))' \\
        scheduler-acme-probe-evil.service fail 1 ExecStart 'a(sasb)' 1 /bin/true 1 /bin/true false 0
"""
PROBE_PATH = "/usr/local/bin/privilege-probe"
START_EVIL = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
              "StartTransientUnit", "ssa(sv)a(sa(sv))", "scheduler-acme-probe-evil.service", "fail", "1",
              "ExecStart", "a(sasb)", "1", "/bin/true", "1", "/bin/true", "false", "0")
PROBE_BRANCH = f"\n[branch stable]\ncommand = {PROBE_PATH}\ntimeout = 5min\n"


def wait_for_result(sb, event, marker=None):
    """The maintenance's result in alice's room: the reply to her command, or a message with marker
    (a result the notifier moved out of the room a run named, which may win over the run's own)."""
    client, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    client.cursors[room] = 0
    def done(e):
        body = e.get("content", {}).get("body", "")
        return (is_reply_to(event, bot)(e) and body.startswith("Execution of")) or (
            marker and e.get("sender") == bot and marker in body)
    return client.wait_for_event(room, done, 120)


def run_probe(sb, script, marker=None):
    """script as the operator's maintenance command, run in acme's real task unit: (the journal's
    cursor before it, the run's own lines, the result the customer got)."""
    with open(sb.env["CONTROL_CONFIG"], encoding="utf-8") as f:
        config = f.read()
    probe = os.path.join(sb.env["CONTROL_ROOT"], PROBE_PATH.lstrip("/"))
    with open(probe, "w", encoding="utf-8") as f:
        f.write(script)
    os.chmod(probe, 0o755)
    try:
        with open(sb.env["CONTROL_CONFIG"], "w", encoding="utf-8") as f:
            f.write(config + PROBE_BRANCH)
        sb.restart_notifier()
        cursor = sb.journal_cursor()
        event, _ = say(sb, "run maintenance")
        result = wait_for_result(sb, event, marker)
        # The run's own end (a forged result may come before it), before the notifier restarts.
        wait_runs_ended(sb, "acme", "maintenance", timeout_s=120)
        said = sb.run("journal", "--after-cursor", cursor, "SCHEDULER_CUSTOMER=acme",
                      "SCHEDULER_COMMAND=maintenance", "-o", "cat", "--no-pager")
    finally:
        with open(sb.env["CONTROL_CONFIG"], "w", encoding="utf-8") as f:
            f.write(config)
        os.remove(probe)
        sb.restart_notifier()
    return cursor, said, result


def test_a_task_holds_only_its_own_customers_key(sb):
    _, said, _ = run_probe(sb, PROBE_SCRIPT)
    lines = {line.split(": ")[1]: line for line in said.splitlines() if line.startswith("probe: ")}
    print("    " + "\n    ".join(lines.values()), flush=True)
    assert int(lines["uid"].split()[-1]) in DYNAMIC_UIDS, said
    assert lines["own key"].endswith("allowed"), said
    for what in ("globex key", "acme key file", "state.json", "crypto.json", "crypto key", "schedules",
                 "StartTransientUnit"):
        assert ": refused (" in lines[what], lines[what]
    # Debian 12's message bus closes a unit's dynamic user's connection right after its Hello; were
    # it let in, polkit refuses every user but the notifier's, as it does nobody here.
    status, said = as_user(sb, "nobody", "busctl", "call", *START_EVIL)
    assert status != 0 and "Interactive authentication required" in said, said
    assert "not-found" in control(sb, "systemctl", "show", "-P", "LoadState",
                                  "scheduler-acme-probe-evil.service"), "a unit was created"
    # And acme's own runs still work, over SSH with the key it was given.
    wait_runs_ended(sb, "acme", "disk")
    event, _ = say(sb, "run disk")
    assert "successful" in customer_result(sb, event)["content"]["body"]


# A task taken over writes result entries of its own: one as another customer's run, one of its own
# run that names another customer's room.
FORGER_SCRIPT = """#!/bin/sh
env_of_task() { tr '\\0' '\\n' < /proc/$PPID/environ | sed -n "s/^$1=//p"; }
inv=$(env_of_task INVOCATION_ID)
run=$(env_of_task SCHEDULER_RUN)
forge() {
        printf 'MESSAGE=forged\\nSCHEDULER_EVENT=result\\nSCHEDULER_CUSTOMER=%s\\nSCHEDULER_COMMAND=maintenance\\n' "$1"
        printf 'SCHEDULER_MODE=run\\nSCHEDULER_RUN=%s\\nSCHEDULER_RESULT=success\\nSCHEDULER_REPORT=%s\\n' "$2" "$3"
        printf 'SCHEDULER_ROOM=@BOB_ROOM@\\nSCHEDULER_INVOCATION=%s\\n' "$inv"
}
echo "probe: forging two results (run $run, invocation $inv)"
forge globex "scheduler-globex-maintenance-run-000000000000" FORGED-FOR-GLOBEX | logger --journald
forge acme "$run" FORGED-INTO-BOBS-ROOM | logger --journald
"""


def test_a_task_speaks_only_for_its_own_run_in_its_customers_rooms(sb):
    bob, bob_room = sb.customer_room("bob")
    cursor, said, result = run_probe(sb, FORGER_SCRIPT.replace("@BOB_ROOM@", bob_room), "FORGED-INTO-BOBS-ROOM")
    assert "probe: forging two results (run scheduler-acme-maintenance-run-" in said, said
    ignored = "Ignoring a result entry not written by one of our runs"
    moved = f"names room {bob_room}, which is not acme's; sending it to theirs."
    notifier = sb.wait_notifier_said(cursor, ignored, moved)
    assert ignored in notifier and moved in notifier, notifier
    # Whichever came first (the forgery of its own run, or the run's own result), alice got it;
    # bob's room got nothing of it.
    assert result["content"]["body"].startswith("Execution of `run maintenance` command successful"), result
    marker = bob.send_text(bob_room, "help")
    wait_reply(bob, bob_room, marker, sb.env["BOT_USER"])
    forged = [e for e in bob.events_since_start(bob_room) if "FORGED" in json.dumps(e)]
    assert not forged, forged


TESTS = [
    test_the_notifier_runs_as_its_own_user,
    test_tasks_run_as_users_of_their_own,
    test_a_task_holds_only_its_own_customers_key,
    test_a_task_speaks_only_for_its_own_run_in_its_customers_rooms,
    test_exposure_of_the_notifier_and_a_task,
    test_it_may_start_scheduler_units_and_no_other,
    test_secrets_are_that_users_alone,
    test_no_secret_in_the_journal_argv_or_chat,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
