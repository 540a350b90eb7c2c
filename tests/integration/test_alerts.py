"""Alerts end to end: monitoring runs (the customer's real monitor unit, started by hand so the
test need not wait for the timer) against the customer's real server and TLS front; the alert
in the customer's room after the second failure, none for a third, the recovery once; a customer
with no room gets a direct chat with its owner.

Usage: /usr/bin/python3 tests/integration/test_alerts.py ENVFILE
"""

import datetime
import json
import os
import sys

from e2ee_client import MEGOLM, Device, on_the_wire
from harness import (INITIATED, Sandbox, edit_config, highlighted, monitor_results, monitoring_memory,
                     monitoring_run, notification_of, register, restore_config, result_of, run_tests, saved_memory,
                     wait_for, wait_reply)
from matrix import API, q
import playbook


def bot_messages(client, room, bot):
    client.sync_once(0)
    return [e for e in client.events_since_start(room) if e["sender"] == bot]


def test_a_failure_alerts_once_and_the_recovery_once(sb):
    d = sb.env["ACME_DOMAIN"]
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    client.skip_to_end(room)
    start = len(bot_messages(client, room, bot))
    sb.run("customer", "systemctl", "stop", "matrix-nginx-proxy.service")
    try:
        monitoring_run(sb, "acme")
        monitoring_run(sb, "acme")
        alert = client.wait_for_event(room, lambda e: e["sender"] == bot and e["type"] == "m.room.message"
                                      and e["content"]["body"].startswith("🚨 Monitoring found"), 60)
        body = alert["content"]["body"]
        assert body.startswith(f"🚨 Monitoring found problems on {d}:\n"), body
        assert f"* 🟥 https://matrix.{d}/_matrix/client/versions: cannot connect" in body, body
        assert "(help: https://scheduler.example/help#api)" in body, body
        # A third failure of the same checks: nothing new to say.
        monitoring_run(sb, "acme")
    finally:
        sb.run("customer", "systemctl", "start", "matrix-nginx-proxy.service")
    monitoring_run(sb, "acme")
    recovery = client.wait_for_event(room, lambda e: e["sender"] == bot and e["type"] == "m.room.message"
                                     and "Back to normal" in e["content"]["body"], 60)
    body = recovery["content"]["body"]
    assert body.startswith(f"✅ Back to normal on {d}:\n"), body
    assert f"* 🟩 https://matrix.{d}/_matrix/client/versions" in body, body
    # Both ring on the owner's phone, as mentions.
    for message in (alert, recovery):
        assert highlighted(notification_of(client, message["event_id"])), message["content"]["body"]
    # The bot said exactly two things: the alert and the recovery (ops go out in order, so a
    # message for the third run would have come before the recovery).
    said = [e["content"]["body"] for e in bot_messages(client, room, bot)[start:]]
    assert len(said) == 2, said


def test_an_alert_the_homeserver_had_not_taken_at_a_crash_still_goes_out(sb):
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    client.skip_to_end(room)
    start = len(bot_messages(client, room, bot))
    sb.run("customer", "systemctl", "stop", "matrix-nginx-proxy.service")
    away = False
    try:
        monitoring_run(sb, "acme")
        sb.run("synapse", "stop")
        away = True
        # The second failure: an alert is due, and the notifier has counted it as told.
        monitoring_run(sb, "acme")
        checks = saved_memory(sb, "acme")["acme"]["checks"]
        assert any(c["alerted"] for c in checks.values()), checks
        sb.run("control", "systemctl", "kill", "--signal=KILL", "scheduler-notifier.service")
        sb.run("synapse", "start")
        away = False
        sb.restart_notifier()
        alert = client.wait_for_event(room, lambda e: e["sender"] == bot and e["type"] == "m.room.message"
                                      and e["content"]["body"].startswith("🚨 Monitoring found"), 60)
        body = alert["content"]["body"]
        assert body.startswith(f"🚨 Monitoring found problems on {sb.env['ACME_DOMAIN']}:\n"), body
    finally:
        if away:
            sb.run("synapse", "start")
        sb.run("customer", "systemctl", "start", "matrix-nginx-proxy.service")
    monitoring_run(sb, "acme")
    client.wait_for_event(room, lambda e: e["sender"] == bot and e["type"] == "m.room.message"
                          and "Back to normal" in e["content"]["body"], 60)
    said = [e["content"]["body"] for e in bot_messages(client, room, bot)[start:]]
    print(f"    the notifier killed while its alert waited for the homeserver: said {len(said)} things "
          f"(the alert once after its restart, then the recovery)", flush=True)
    assert [s.split(" ", 1)[0] for s in said] == ["🚨", "✅"], said
    # Delivered: no longer kept for a next start.
    wait_for("acme's memory without undelivered alerts", lambda: "pending" not in monitoring_memory(sb)["acme"],
             30)


def test_a_customer_without_a_room_gets_a_direct_chat(sb):
    # A new user and customer each time, so the test can run again on the same sandbox.
    suffix = os.urandom(4).hex()
    carol = register(sb, "carol-" + suffix, "carol-password")
    customer = "initech-" + suffix
    with open(sb.env["CONTROL_CONFIG"], encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("[customer acme]\n"):text.index("[customer globex]")]
    # initech.test has no DNS records at all: monitoring fails from the first run.
    extra = (section.replace("[customer acme]", f"[customer {customer}]")
             .replace(sb.env["ALICE_USER"], carol).replace(f"domain = {sb.env['ACME_DOMAIN']}",
                                                           "domain = initech.test")
             .replace("components = ", "#"))
    before = edit_config(sb, lambda t: t.rstrip("\n") + "\n\n" + extra)
    try:
        sb.restart_notifier()
        # Carol's own E2EE client: the direct chat the bot makes is encrypted.
        client = Device(sb, user=carol, password="carol-password").login()
        monitoring_run(sb, customer)
        monitoring_run(sb, customer)
        room = wait_for("an invite from the bot", lambda: (client.sync_once(0), next(iter(client.invites), None))[1],
                        60)
        client.join(room)
        alert = client.wait_for_event(room, lambda e: e["sender"] == sb.env["BOT_USER"]
                                      and e["type"] == "m.room.message", 60)
        assert alert["content"]["body"].startswith("🚨 Monitoring found problems on initech.test:\n"), alert
        assert "* 🟥 matrix.initech.test (DNS record): no A or AAAA record" in alert["content"]["body"], alert
        assert on_the_wire(client, room, alert["event_id"])["type"] == "m.room.encrypted"
        encryption = client.request("GET", f"{API}/rooms/{q(room)}/state/m.room.encryption/")
        assert encryption["algorithm"] == MEGOLM, encryption
        client.cursors[room] = 0
        invite = client.wait_for_event(room, lambda e: e["type"] == "m.room.member" and e["state_key"] == carol
                                       and e["content"].get("membership") == "invite", 30)
        assert invite["content"].get("is_direct") is True, invite
        assert sorted(client.joined_members(room)) == sorted([sb.env["BOT_USER"], carol])
    finally:
        sb.run("control", "systemctl", "stop", f"scheduler-{customer}-*.timer", check=False)
        restore_config(sb, before)


def test_a_reminder_before_the_weekly_maintenance(sb):
    bot = sb.env["BOT_USER"]
    client, room = sb.customer_room("alice")
    before = edit_config(sb, lambda t: t.replace("monitor_interval = 1h\n",
                                                 "monitor_interval = 1h\nmaintenance_reminder = 1h\n"))
    assert "monitor_interval = 1h\n" in before, "the sandbox's configuration changed"
    try:
        sb.restart_notifier()
        # acme is in UTC: a maintenance a little over an hour ahead, so the reminder is due in
        # one to two minutes.
        now = datetime.datetime.now(datetime.timezone.utc)
        when = (now + datetime.timedelta(hours=1, seconds=90)).replace(second=0, microsecond=0) \
            + datetime.timedelta(minutes=1)
        client.skip_to_end(room)
        event = client.send_text(room, f"recurring maintenance {when:%A %H:%M}")
        reply = wait_reply(client, room, event, bot)
        assert reply["content"]["body"] == "Recurring schedule configured.", reply["content"]
        reminder = client.wait_for_event(room, lambda e: e["sender"] == bot and e["type"] == "m.room.message"
                                         and e["content"]["body"].startswith("⏰ Reminder"), 180)
        body = reminder["content"]["body"]
        assert body.startswith(f"⏰ Reminder: the weekly maintenance of {sb.env['ACME_DOMAIN']} starts "
                               f"{when:%Y-%m-%d %H:%M} (UTC), in about 1 hour."), body
        assert "`pause maintenance`" in body, body
        assert highlighted(notification_of(client, reminder["event_id"])), body
        # Sent when it was due, not at once.
        assert reminder["origin_server_ts"] / 1000 >= (when - datetime.timedelta(hours=1)).timestamp() - 2, \
            (reminder["origin_server_ts"], when)
        # Reminded once: a restart does not remind again (the answer to `help` comes first).
        sb.restart_notifier()
        event = client.send_text(room, "help")
        wait_reply(client, room, event, bot)
        client.sync_once(0)
        again = [e for e in client.events_since_start(room) if e["sender"] == bot
                 and e["content"].get("body", "").startswith("⏰ Reminder")]
        assert len(again) == 1, again
    finally:
        restore_config(sb, before)


def test_monitoring_holds_off_while_a_maintenance_runs(sb):
    bot = sb.env["BOT_USER"]
    playbook.install(sb)
    before = edit_config(sb, lambda t: t + "\n[branch stable]\ncommand = /usr/local/bin/fake-playbook\n")
    try:
        sb.restart_notifier()
        client, room = sb.customer_room("alice")
        event = client.send_text(room, "run maintenance")
        assert wait_reply(client, room, event, bot)["content"]["body"] == INITIATED
        # The maintenance is running (its playbook waits for the go file): monitoring checks nothing.
        monitoring_run(sb, "acme")
        report = json.loads(monitor_results(sb, "acme")[-1]["SCHEDULER_REPORT"])
        assert report == {"held": True, "failures": []}, report
        playbook.let_go(sb)
        result = result_of(client, room, event, bot, 120)["content"]["body"]
        assert result.startswith("Execution of `run maintenance` command successful"), result
        # After it, monitoring checks again.
        monitoring_run(sb, "acme")
        report = json.loads(monitor_results(sb, "acme")[-1]["SCHEDULER_REPORT"])
        assert report["held"] is False, report
    finally:
        playbook.let_go(sb)
        restore_config(sb, before)


TESTS = [
    test_monitoring_holds_off_while_a_maintenance_runs,
    test_a_failure_alerts_once_and_the_recovery_once,
    test_an_alert_the_homeserver_had_not_taken_at_a_crash_still_goes_out,
    test_a_customer_without_a_room_gets_a_direct_chat,
    test_a_reminder_before_the_weekly_maintenance,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
