"""`maintenance` end to end: per stability branch, the operator's command on the control host
(a script in the control container) or its ssh_command on the customer's server (the real sshd),
progress shown by editing the "initiated" message, a typing notice, the result with "Identified
issues", and the `branch` command. The built-in default runs for real over SSH except apt-get,
which is replaced on the customer's server by a recorder so a slow mirror cannot make it flaky.

Usage: /usr/bin/python3 tests/integration/test_maintenance.py ENVFILE
"""

import json
import os
import sys
import time

from harness import (INITIATED, Sandbox, ask, is_edit_of, is_reply_to, kill_notifier_mid_run, result_of,
                     run_tests, soon, wait_runs_ended)
from matrix import API
import playbook
from playbook import BRANCHES, write_config

# Records each call instead of asking a mirror; prints what apt-get would.
APT_RECORDER = """#!/bin/sh
echo "apt-get $*" >> /root/apt-calls
echo "Reading package lists... Done"
"""


def typing_users(client, room, timeout_s=30, want=None):
    """Who types in room, from a /sync of our own that shows only typing, until want(users)."""
    flt = json.dumps({"room": {"rooms": [room], "timeline": {"limit": 0},
                               "state": {"types": []}, "ephemeral": {"types": ["m.typing"]}},
                      "presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}})
    deadline, since, users = time.monotonic() + timeout_s, None, []
    while time.monotonic() < deadline:
        query = {"filter": flt, "timeout": 5000}
        if since:
            query["since"] = since
        resp = client.request("GET", API + "/sync", query=query, timeout=40)
        since = resp["next_batch"]
        joined = resp.get("rooms", {}).get("join", {}).get(room, {})
        for e in joined.get("ephemeral", {}).get("events", []):
            if e.get("type") == "m.typing":
                users = e["content"].get("user_ids", [])
        if want is None or want(users):
            return users
    raise TimeoutError(f"typing in {room} stayed {users}")


def assert_issues_listed(lines):
    """ "Identified issues: none found.", or the heading and red checks (a busy machine can make
    the CPU check red)."""
    if "Identified issues: none found." in lines:
        return
    i = lines.index("Identified issues:")
    assert lines[i + 1].startswith("* 🟥 "), lines


def journal_lines(sb, *matches):
    return sb.run("control", "journalctl", "-o", "cat", "--no-pager", *matches).splitlines()


def test_branch_command(sb):
    *_, reply = ask(sb, "branch", "alice")
    body = reply["content"]["body"]
    assert body.startswith("Your server is on the `stable` stability branch (default)"), body
    assert "contact us" in body, body
    *_, reply = ask(sb, "branch", "bob")
    assert reply["content"]["body"].startswith("Your server is on the `fresh` stability branch"), reply
    *_, reply = ask(sb, "help", "bob")
    assert "(now `fresh`)" in reply["content"]["body"], reply


def test_stable_runs_the_operator_command_with_progress(sb):
    bot = sb.env["BOT_USER"]
    client, room, event, first = ask(sb, "run maintenance", "alice")
    assert first["content"]["body"] == INITIATED, first["content"]
    unit = sb.run("control", "systemctl", "list-units", "--no-legend", "--plain",
                  "scheduler-acme-maintenance-run-*").split()[0]
    # The branch's timeout bounds the unit: 20 min and 10 for the checks after it.
    assert sb.run("control", "systemctl", "show", "-P", "RuntimeMaxUSec", unit).strip() == "30min"

    client.cursors[room] = 0
    edit = client.wait_for_event(room, lambda e: is_edit_of(first["event_id"], bot)(e)
                                 and "Ensure Synapse is started" in e["content"]["body"], 60)
    new = edit["content"]["m.new_content"]
    assert edit["content"]["body"].startswith("* " + INITIATED), edit["content"]
    assert new["body"].startswith(INITIATED + "\nMaintenance running for "), new
    assert new["body"].endswith("; current step: `matrix-synapse : Ensure Synapse is started`"), new
    assert bot in typing_users(client, room, want=lambda u: bot in u)

    playbook.let_go(sb)
    result = result_of(client, room, event, bot, 120)["content"]["body"]
    lines = result.splitlines()
    assert lines[0].startswith("Execution of `run maintenance` command successful (took "), lines
    assert "Synapse was updated to a new version." in lines, lines
    assert_issues_listed(lines)
    assert bot not in typing_users(client, room, want=lambda u: bot not in u)

    out = journal_lines(sb, "SYSLOG_IDENTIFIER=scheduler-task", "SCHEDULER_RUN=" + unit[:-len(".service")])
    assert "args: --tags setup-all" in out, out
    # The server's "<0>" is text, not an emergency journald would broadcast; no escape sequence.
    entries = [json.loads(line) for line in sb.run(
        "journal", "SCHEDULER_RUN=" + unit[:-len(".service")], "-o", "json", "--no-pager").splitlines()]
    texts = {e["MESSAGE"]: int(e["PRIORITY"]) for e in entries if isinstance(e.get("MESSAGE"), str)}
    assert texts.get("<0>not an emergency") == 6 and texts.get("<3>nor an error") == 6, texts
    assert min(texts.values()) >= 4, texts
    assert not [e for e in entries if not isinstance(e.get("MESSAGE"), str)], "a binary message"
    assert "colours: ?[31mred?[0m, a title: ?]0;owned?, C1: ??2J" in texts, texts
    for expected in ("env: SCHEDULER_CUSTOMER=acme", f"env: SCHEDULER_DOMAIN={sb.env['ACME_DOMAIN']}",
                     "env: SCHEDULER_BRANCH=stable", "env: SCHEDULER_SSH_HOST=127.0.0.1",
                     f"env: SCHEDULER_SSH_PORT={sb.env['SSH_PORT']}", "env: SCHEDULER_SSH_USER=root",
                     # The key as systemd handed it to this run's unit alone (LoadCredential=).
                     f"env: SCHEDULER_SSH_KEY_FILE=/run/credentials/{unit}/ssh-key"):
        assert expected in out, (expected, out)
    steps = journal_lines(sb, "SCHEDULER_EVENT=progress", "SCHEDULER_RUN=" + unit[:-len(".service")])
    assert steps and steps[0] == "maintenance for acme: Gathering facts", steps
    _, _, _, listing = ask(sb, "list runs", "alice")
    assert ": run maintenance" in listing["content"]["body"].splitlines()[0], listing


def test_scheduled_maintenance_posts_its_own_progress(sb):
    bot = sb.env["BOT_USER"]
    os.remove(playbook.go_file(sb))
    client, room, event, reply = ask(sb, f"schedule maintenance {soon()}", "alice")
    assert reply["content"]["body"] == "Command scheduled.", reply
    client.cursors[room] = 0
    progress = client.wait_for_event(
        room, lambda e: is_reply_to(event, bot)(e)
        and e["content"]["body"].startswith("Maintenance running for "), 150)
    client.wait_for_event(room, lambda e: is_edit_of(progress["event_id"], bot)(e)
                          and "Ensure Synapse is started" in e["content"]["body"], 60)
    playbook.let_go(sb)
    result = result_of(client, room, event, bot, 120)["content"]["body"]
    assert result.startswith("Execution of `run maintenance` command successful (took "), result
    client.cursors[room] = 0
    final = client.wait_for_event(room, lambda e: is_edit_of(progress["event_id"], bot)(e)
                                  and "finished" in e["content"]["body"], 30)
    assert final["content"]["m.new_content"]["body"].startswith("Maintenance finished"), final


def test_fresh_runs_the_ssh_command_on_the_server(sb):
    bot = sb.env["BOT_USER"]
    client, room, event, first = ask(sb, "run maintenance", "bob")
    assert first["content"]["body"] == INITIATED, first["content"]
    result = result_of(client, room, event, bot, 120)["content"]["body"]
    lines = result.splitlines()
    assert lines[0].startswith("Execution of `run maintenance` command successful (took "), lines
    # globex has disk_threshold = 1: the check after the maintenance finds its disk.
    assert lines[1] == "Identified issues:", lines
    assert any(line.startswith("* 🟥 Disk utilization is ~") for line in lines[2:]), lines
    with open(os.path.join(sb.env["CUSTOMER_ROOT"], "root/maintenance-ran"), encoding="utf-8") as f:
        assert f.read().strip() == sb.run("customer", "hostname").strip()
    client.cursors[room] = 0
    client.wait_for_event(room, is_edit_of(first["event_id"], bot), 30)
    # What the server printed over SSH: "<0>" is text at the task's priority, the escape is gone.
    entries = [json.loads(line) for line in sb.run(
        "journal", "SCHEDULER_CUSTOMER=globex", "SCHEDULER_COMMAND=maintenance", "-o", "json",
        "--no-pager").splitlines()]
    said = {e["MESSAGE"]: int(e.get("PRIORITY", -1)) for e in entries if isinstance(e.get("MESSAGE"), str)}
    assert said.get("<0>the server says emergency") == 6, said
    assert said.get("?[2Jcleared") == 6, said


def test_sigkill_of_the_notifier_mid_maintenance_posts_the_result_once(sb):
    bot = sb.env["BOT_USER"]
    playbook.hold(sb)
    client, room, event, first = ask(sb, "run maintenance", "alice")
    client.cursors[room] = 0
    client.wait_for_event(room, is_edit_of(first["event_id"], bot), 60)
    result = kill_notifier_mid_run(sb, event, after_kill=lambda: playbook.let_go(sb))
    assert result.startswith("Execution of `run maintenance` command successful"), result


def test_a_killed_maintenance_says_what_it_last_printed(sb):
    """Killed, the task cannot report itself; its unit's ExecStopPost does, and runs as the task's
    own user, which cannot read the journal: the notifier adds the run's last lines."""
    bot = sb.env["BOT_USER"]
    playbook.hold(sb)
    wait_runs_ended(sb, "acme", "maintenance")
    client, room, event, first = ask(sb, "run maintenance", "alice")
    client.cursors[room] = 0
    client.wait_for_event(room, lambda e: is_edit_of(first["event_id"], bot)(e)
                          and "Ensure Synapse is started" in e["content"]["body"], 60)
    unit = sb.run("control", "systemctl", "list-units", "--no-legend", "--plain",
                  "scheduler-acme-maintenance-run-*").split()[0]
    sb.run("control", "systemctl", "kill", "--signal=KILL", unit)
    result = result_of(client, room, event, bot, 120)["content"]["body"]
    assert result.startswith("Execution of `run maintenance` command failed: killed by signal SIGKILL"), result
    assert "TASK [matrix-synapse : Ensure Synapse is started]" in result, result
    assert "<0>not an emergency" in result and "\033" not in result and "\x9b" not in result, result
    wait_runs_ended(sb, "acme", "maintenance")


def test_operator_command_is_stopped_at_its_timeout(sb):
    playbook.hold(sb)
    write_config(sb, BRANCHES.replace("timeout = 20m", "timeout = 1min"))
    bot = sb.env["BOT_USER"]
    client, room, event, _ = ask(sb, "run maintenance", "alice")
    result = result_of(client, room, event, bot, 150)["content"]["body"]
    assert result.startswith("Execution of `run maintenance` command failed: the maintenance took longer "
                             "than 1 min and was stopped (took 1 min)"), result
    assert "* `TASK [matrix-synapse : Ensure Synapse is started] ***" in result, result
    # The whole process group went: no playbook left waiting for its go.
    left = sb.run("control", "pgrep", "-f", "fake-playbook", check=False)
    assert left.strip() == "", left


def test_builtin_default_over_ssh(sb):
    root = sb.env["CUSTOMER_ROOT"]
    recorder = os.path.join(root, "usr/local/sbin/apt-get")
    with open(recorder, "w", encoding="utf-8") as f:
        f.write(APT_RECORDER)
    os.chmod(recorder, 0o755)
    calls = os.path.join(root, "root/apt-calls")
    if os.path.exists(calls):
        os.remove(calls)
    try:
        write_config(sb, "")
        # /run is the container's own tmpfs: made from inside.
        sb.run("customer", "touch", "/run/reboot-required")
        bot = sb.env["BOT_USER"]
        client, room, event, _ = ask(sb, "run maintenance", "alice")
        result = result_of(client, room, event, bot, 120)["content"]["body"]
        lines = result.splitlines()
        assert lines[0].startswith("Execution of `run maintenance` command successful"), lines
        assert "The server needs a reboot to finish the updates." in lines, lines
        with open(calls, encoding="utf-8") as f:
            called = f.read().splitlines()
        assert [c.split()[-1] for c in called] == ["update", "upgrade", "autoremove", "clean"], called
        assert "Dpkg::Options::=--force-confold" in called[1], called
        # The steps come within milliseconds: the first is told, the rest within 10 s are not.
        steps = journal_lines(sb, "SCHEDULER_EVENT=progress", "SCHEDULER_CUSTOMER=acme")
        assert steps[-1] == "maintenance for acme: Updating the package lists", steps

        # A stopped matrix service fails the maintenance, named, with the last lines.
        sb.run("customer", "systemctl", "stop", "matrix-mautrix-telegram.service")
        sb.run("customer", "rm", "/run/reboot-required")
        event = client.send_text(room, "run maintenance")
        result = result_of(client, room, event, bot, 120)["content"]["body"]
        assert result.startswith("Execution of `run maintenance` command failed: the maintenance "
                                 "failed: exit status 16"), result
        assert "Not active: matrix-mautrix-telegram.service" in result, result
        assert "The last lines of its output:" in result, result
    finally:
        sb.run("customer", "systemctl", "start", "matrix-mautrix-telegram.service")
        os.remove(recorder)
        sb.run("customer", "rm", "-f", "/run/reboot-required")


def main():
    sb = Sandbox(sys.argv[1])
    playbook.setup(sb)
    try:
        return run_tests([test_branch_command, test_stable_runs_the_operator_command_with_progress,
                          test_scheduled_maintenance_posts_its_own_progress,
                          test_fresh_runs_the_ssh_command_on_the_server,
                          test_sigkill_of_the_notifier_mid_maintenance_posts_the_result_once,
                          test_a_killed_maintenance_says_what_it_last_printed,
                          test_operator_command_is_stopped_at_its_timeout, test_builtin_default_over_ssh], sb)
    finally:
        playbook.teardown(sb)


if __name__ == "__main__":
    sys.exit(main())
