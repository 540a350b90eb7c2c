"""One command that changes the customer's server at a time: `maintenance` and `restart` hold their
customer's lock (its file in /run/scheduler, bound into each task's unit). A second one asked for
in chat is answered at once and nothing starts; a scheduled one waits for the first (up to
[scheduler] lock_wait) and says so, or is skipped; `ping`, `disk` and `price` run alongside;
monitoring holds off while either runs. Real units on the control host, the customer's real sshd.

Usage: /usr/bin/python3 tests/integration/test_locks.py ENVFILE
"""

import json
import sys

from harness import (INITIATED, Sandbox, ask, customer_result, edit_config, monitor_results,
                     monitoring_run, restore_config, result_of, run_command, run_units, run_tests, say,
                     soon, timers, wait_for, wait_runs_ended)
import playbook

# A service on the customer's server whose restart takes until the test says go.
HELD_UNIT = """[Unit]
Description=dummy Matrix service that stops when told
[Service]
ExecStart=/bin/sleep infinity
ExecStop=/bin/sh -c 'while [ ! -e /run/held-go ]; do sleep 0.1; done'
"""


def started_maintenance(sb):
    """alice's `run maintenance`, its playbook waiting for the go: (client, room, event)."""
    playbook.hold(sb)
    client, room, event, first = ask(sb, "run maintenance")
    assert first["content"]["body"] == INITIATED, first["content"]
    wait_for("the maintenance's unit", lambda: [u for u in run_units(sb) if "-maintenance-run-" in u], 30)
    return client, room, event


def finish_maintenance(sb, client, room, event):
    playbook.let_go(sb)
    body = result_of(client, room, event, sb.env["BOT_USER"], 120)["content"]["body"]
    assert body.startswith("Execution of `run maintenance` command successful"), body
    wait_runs_ended(sb, "acme", "maintenance")


def let_everything_end(sb):
    """The playbook let go and every changing run of acme's over, whatever a test left."""
    playbook.let_go(sb)
    sb.run("customer", "touch", "/run/held-go")
    wait_runs_ended(sb, "acme", "maintenance", 120)
    wait_runs_ended(sb, "acme", "restart", 60)


def slack_started(sb):
    return sb.run("customer", "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic",
                  "matrix-mautrix-slack.service").strip()


def scheduled_service(sb, command, when, args=""):
    """alice schedules command at when: (event, its timer, its service)."""
    before = set(timers(sb))
    event, reply = say(sb, f"schedule {command} {when} {args}".rstrip())
    assert reply == "Command scheduled.", reply
    timer, = set(timers(sb)) - before
    return event, timer, timer[:-len(".timer")] + ".service"


def task_said(sb, service, text):
    return text in sb.run("control", "journalctl", "-u", service, "-o", "cat", "--no-pager")


def test_a_second_changing_command_in_chat_is_answered_at_once(sb):
    client, room, event = started_maintenance(sb)
    try:
        slack = slack_started(sb)
        _, reply = say(sb, "run restart slack")
        assert reply.startswith("`maintenance` is running (started "), reply
        assert " ago); `restart slack` was not started. Send it again when it has finished." in reply, reply
        assert not [u for u in run_units(sb) if "-restart-run-" in u], run_units(sb)
        assert slack_started(sb) == slack
        # What only looks runs alongside.
        _, _, result = run_command(sb, "run price")
        assert result["content"]["body"].startswith("Execution of `run price` command successful"), result
        finish_maintenance(sb, client, room, event)
    finally:
        let_everything_end(sb)
    _, _, result = run_command(sb, "run restart slack")
    assert result["content"]["body"].startswith("Execution of `run restart slack` command successful"), result
    assert slack_started(sb) != slack


def test_a_scheduled_restart_waits_for_the_maintenance(sb):
    client, room, event = started_maintenance(sb)
    schedule_event, timer, service = scheduled_service(sb, "restart", soon(10), "slack")
    try:
        slack = slack_started(sb)
        # Its timer fires: the service starts, as the timer would start it.
        sb.run("control", "systemctl", "start", "--no-block", service)
        wait_for("the restart to wait", lambda: task_said(sb, service, "Waiting up to"), 30)
        assert sb.run("control", "systemctl", "is-active", service, check=False).strip() == "active"
        assert slack_started(sb) == slack
        finish_maintenance(sb, client, room, event)
        body = customer_result(sb, schedule_event, timeout_s=60)["content"]["body"]
        assert body.startswith("Execution of `run restart slack` command successful"), body
        assert "This waited " in body and " for `maintenance` to finish." in body, body
        assert slack_started(sb) != slack
    finally:
        sb.run("control", "systemctl", "stop", timer, service, check=False)
        let_everything_end(sb)


def test_a_scheduled_restart_is_skipped_when_the_wait_is_over(sb):
    before = edit_config(sb, lambda t: t.replace("[scheduler]\n", "[scheduler]\nlock_wait = 3s\n", 1))
    sb.restart_notifier()
    client, room, event = started_maintenance(sb)
    schedule_event, timer, service = scheduled_service(sb, "restart", soon(10), "slack")
    try:
        slack = slack_started(sb)
        sb.run("control", "systemctl", "start", "--no-block", service)
        body = customer_result(sb, schedule_event, timeout_s=60)["content"]["body"]
        assert body.startswith("Execution of `run restart slack` command failed: skipped: `maintenance` was "
                               "still running after "), body
        assert slack_started(sb) == slack
        finish_maintenance(sb, client, room, event)
    finally:
        sb.run("control", "systemctl", "stop", timer, service, check=False)
        let_everything_end(sb)
        restore_config(sb, before)


def test_two_timers_of_one_customer_run_one_after_the_other(sb):
    playbook.hold(sb)
    when = soon(10)
    maintenance_event, maintenance_timer, maintenance = scheduled_service(sb, "maintenance", when)
    restart_event, restart_timer, restart = scheduled_service(sb, "restart", when, "slack")
    try:
        # Both timers fire at the same minute.
        sb.run("control", "systemctl", "start", "--no-block", maintenance, restart)
        wait_for("one of them to wait", lambda: task_said(sb, maintenance, "Waiting up to")
                 or task_said(sb, restart, "Waiting up to"), 60)
        playbook.let_go(sb)
        bodies = [customer_result(sb, e, timeout_s=120)["content"]["body"]
                  for e in (maintenance_event, restart_event)]
        assert bodies[0].startswith("Execution of `run maintenance` command successful"), bodies
        assert bodies[1].startswith("Execution of `run restart slack` command successful"), bodies
        waited = [b for b in bodies if "This waited " in b]
        assert len(waited) == 1, bodies
        assert (" for `restart` to finish." in bodies[0]) != (" for `maintenance` to finish." in bodies[1])
    finally:
        sb.run("control", "systemctl", "stop", maintenance_timer, restart_timer, maintenance, restart,
               check=False)
        let_everything_end(sb)


def test_monitoring_holds_off_while_a_restart_runs(sb):
    sb.run("customer", "sh", "-c", "rm -f /run/held-go && cat > /etc/systemd/system/matrix-held.service && "
           "systemctl daemon-reload && systemctl start matrix-held.service", input_text=HELD_UNIT)
    client, room, event, first = ask(sb, "run restart matrix-held")
    try:
        assert first["content"]["body"] == INITIATED, first["content"]
        wait_for("the restart to stop the service", lambda: sb.run(
            "customer", "systemctl", "is-active", "matrix-held.service",
            check=False).strip() == "deactivating", 30)
        monitoring_run(sb, "acme")
        report = json.loads(monitor_results(sb, "acme")[-1]["SCHEDULER_REPORT"])
        assert report == {"held": True, "failures": []}, report
    finally:
        sb.run("customer", "touch", "/run/held-go")
        let_everything_end(sb)
    body = result_of(client, room, event, sb.env["BOT_USER"], 60)["content"]["body"]
    assert body.startswith("Execution of `run restart matrix-held` command successful"), body
    wait_runs_ended(sb, "acme", "restart")
    monitoring_run(sb, "acme")
    assert json.loads(monitor_results(sb, "acme")[-1]["SCHEDULER_REPORT"])["held"] is False
    sb.run("customer", "sh", "-c", "systemctl stop matrix-held.service; "
           "rm -f /etc/systemd/system/matrix-held.service /run/held-go; systemctl daemon-reload")


TESTS = [
    test_a_second_changing_command_in_chat_is_answered_at_once,
    test_a_scheduled_restart_waits_for_the_maintenance,
    test_a_scheduled_restart_is_skipped_when_the_wait_is_over,
    test_two_timers_of_one_customer_run_one_after_the_other,
    test_monitoring_holds_off_while_a_restart_runs,
]


def main(env_path):
    sb = Sandbox(env_path)
    playbook.setup(sb)
    try:
        return run_tests(TESTS, sb)
    finally:
        playbook.teardown(sb)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
