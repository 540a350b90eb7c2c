"""Run mode end to end: a customer's `run` becomes a transient service in the real systemd
container, the task acts on the customer's real sshd, the result comes back from the journal.

Usage: /usr/bin/python3 tests/integration/test_run.py ENVFILE
"""

import sys

from harness import (INITIATED, Sandbox, kill_notifier_mid_run, result_of, run_command, run_tests, run_units,
                     wait_reply)

# A service on the customer's server whose stop takes a while, so a run is still going when
# the test does something to the notifier.
SLOW_UNIT = """[Unit]
Description=slow dummy Matrix service
[Service]
ExecStart=/bin/sleep infinity
ExecStop=/bin/sleep 3
"""


def test_price(sb):
    _, _, result = run_command(sb, "run price")
    body = result["content"]["body"]
    assert body.startswith("Execution of `run price` command successful\n"), body
    # acme: matrix, hosting-big, email and element-web (free, so not listed).
    assert "The total price for your server is $35" in body, body
    assert "* Matrix: $5. Base components and services for any server" in body, body
    assert "* Hosting (Big): $25." in body, body
    assert "* Email service: $5." in body, body
    assert "Element" not in body, body
    assert "<code>run price</code>" in result["content"]["formatted_body"]


def test_ping(sb):
    _, _, result = run_command(sb, "run ping")
    body = result["content"]["body"]
    assert body.startswith("Execution of `run ping` command successful\n"), body
    df = sb.run("customer", "df", "-P", "/").splitlines()[1].split()[4]
    assert f"INFO [{sb.env['ACME_DOMAIN']}] disk usage: {df}" in body, (df, body)
    lines = body.splitlines()
    for what in ("CPU", "Disk", "RAM"):
        assert any(line.startswith("* ") and f" {what} utilization is ~" in line for line in lines), body
    assert f"* 🟩 Disk utilization is ~{df[:-1]}%" in lines, body


def test_ping_red_check_comes_first_with_help(sb):
    # globex is configured with disk_threshold = 1: its disk check is red.
    _, _, result = run_command(sb, "run ping", who="bob")
    lines = result["content"]["body"].splitlines()
    assert lines[0] == "Execution of `run ping` command successful", lines
    assert lines[1].startswith(f"INFO [{sb.env['GLOBEX_DOMAIN']}] disk usage: "), lines
    # Failures first; the CPU line may be red too on a busy test machine (its /proc/stat is shared).
    checks = lines[2:]
    red = [line for line in checks if line.startswith("* 🟥")]
    assert red and checks[:len(red)] == red, lines
    disk = [line for line in red if line.startswith("* 🟥 Disk utilization is ~")]
    assert len(disk) == 1, lines
    assert disk[0].endswith("%: recommended is below 1% (help: https://scheduler.example/help#disk)"), lines


def test_result_is_in_the_journal_with_our_fields(sb):
    out = sb.run("journal", "SCHEDULER_CUSTOMER=acme", "SCHEDULER_EVENT=result", "-o", "verbose",
                 "--no-pager")
    for field in ("SCHEDULER_COMMAND=price", "SCHEDULER_RESULT=success", "SCHEDULER_ROOM=",
                  "SCHEDULER_REPLY_TO=", "SCHEDULER_INVOCATION=", "_SYSTEMD_UNIT=scheduler-acme-price-run-"):
        assert field in out, (field, out[-2000:])


def test_restart_really_restarts(sb):
    before = sb.run("customer", "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic",
                    "matrix-mautrix-slack.service").strip()
    _, _, result = run_command(sb, "run restart slack")
    body = result["content"]["body"]
    assert body.startswith("Execution of `run restart slack` command successful"), body
    assert "active" in body, body
    after = sb.run("customer", "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic",
                   "matrix-mautrix-slack.service").strip()
    assert after != before and int(after) > int(before), (before, after)


def test_disk(sb):
    _, _, result = run_command(sb, "run disk")
    body = result["content"]["body"]
    assert body.startswith("Execution of `run disk` command successful"), body
    domain = sb.env["ACME_DOMAIN"]
    assert f"INFO [{domain}] disk usage: " in body, body
    for label in ("Database", "Database backups", "Media"):
        assert f"INFO [{domain}] {label}: " in body, body


def test_failure_is_reported_and_listed(sb):
    _, _, result = run_command(sb, "run restart matrix-no-such-bridge")
    body = result["content"]["body"]
    assert body.startswith("Execution of `run restart matrix-no-such-bridge` command failed: "), body
    client, room = sb.customer_room()
    event = client.send_text(room, "list runs")
    listing = wait_reply(client, room, event, sb.env["BOT_USER"])["content"]["body"].splitlines()
    assert len(listing) >= 4, listing
    assert listing[0].startswith("* ") and " run restart matrix-no-such-bridge failed: " in listing[0], listing
    assert any(line.endswith(": run price") for line in listing), listing
    assert len(listing) <= 20


def test_customers_do_not_see_each_others_runs(sb):
    bob, room = sb.customer_room("bob")
    event = bob.send_text(room, "list runs")
    body = wait_reply(bob, room, event, sb.env["BOT_USER"])["content"]["body"]
    assert body == "No runs yet; try `run ping`.", body
    _, _, result = run_command(sb, "run price", who="bob")
    # globex: matrix, gotosocial and email.
    assert "The total price for your server is $13" in result["content"]["body"]
    event = bob.send_text(room, "list runs")
    lines = wait_reply(bob, room, event, sb.env["BOT_USER"])["content"]["body"].splitlines()
    assert len(lines) == 1 and lines[0].endswith(": run price"), lines


def test_injection_is_refused_and_nothing_runs(sb):
    client, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    before = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "cat", "--no-pager").count("\n")
    units_before = run_units(sb)
    for text, expected in (("run restart slack;reboot", "is not a service name"),
                           ("run restart $(reboot)", "is not a service name"),
                           ("run restart `reboot`", "is not a service name"),
                           ("run restart slack\nreboot", "Unknown command"),
                           ("run restart ../../sshd", "is not a service name"),
                           ("run restart sshd", "is not a service I know"),
                           ("run price; reboot", "Unknown command")):
        event = client.send_text(room, text)
        body = wait_reply(client, room, event, bot)["content"]["body"]
        assert expected in body, (text, body)
    after = sb.run("journal", "SCHEDULER_EVENT=result", "-o", "cat", "--no-pager").count("\n")
    assert after == before, "a run happened"
    assert run_units(sb) == units_before


def install_slow_unit(sb):
    path = "/etc/systemd/system/matrix-slow.service"
    sb.run("customer", "sh", "-c", f"cat > {path} && systemctl daemon-reload && "
           "systemctl start matrix-slow.service", input_text=SLOW_UNIT)


def test_one_run_of_a_command_at_a_time(sb):
    install_slow_unit(sb)
    client, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    first = client.send_text(room, "run restart matrix-slow")
    second = client.send_text(room, "run restart slack")
    assert wait_reply(client, room, first, bot)["content"]["body"] == INITIATED
    body = wait_reply(client, room, second, bot)["content"]["body"]
    assert body == "`restart` is already running", body
    assert "successful" in result_of(client, room, first, bot)["content"]["body"]


def test_sigkill_while_a_task_runs_posts_the_result_once(sb):
    install_slow_unit(sb)
    client, room = sb.customer_room()
    event = client.send_text(room, "run restart matrix-slow")
    assert wait_reply(client, room, event, sb.env["BOT_USER"])["content"]["body"] == INITIATED
    result = kill_notifier_mid_run(sb, event, timeout_s=90)
    assert "successful" in result, result


def test_a_killed_run_is_still_reported(sb):
    install_slow_unit(sb)
    client, room = sb.customer_room()
    bot = sb.env["BOT_USER"]
    event = client.send_text(room, "run restart matrix-slow")
    assert wait_reply(client, room, event, bot)["content"]["body"] == INITIATED
    units = [u for u in run_units(sb) if u.startswith("scheduler-acme-restart-run-")]
    assert units, "the run's unit is not there"
    sb.run("control", "systemctl", "kill", "--signal=KILL", units[0])
    body = result_of(client, room, event, bot)["content"]["body"]
    assert body.startswith("Execution of `run restart matrix-slow` command failed: killed by signal SIGKILL"), body


TESTS = [
    test_price,
    test_ping,
    test_result_is_in_the_journal_with_our_fields,
    test_restart_really_restarts,
    test_disk,
    test_failure_is_reported_and_listed,
    test_customers_do_not_see_each_others_runs,
    test_ping_red_check_comes_first_with_help,
    test_injection_is_refused_and_nothing_runs,
    test_one_run_of_a_command_at_a_time,
    test_sigkill_while_a_task_runs_posts_the_result_once,
    test_a_killed_run_is_still_reported,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
