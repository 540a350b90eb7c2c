"""Monitoring timers, end to end in the real systemd container: every customer's
scheduler-CUSTOMER-monitor.timer from the generator at boot; the notifier giving one to a customer
systemd lacks it for (over D-Bus) and stopping it for a customer no longer monitored; a
monitoring run's result entry in the journal; the timers back after a reboot.

The sandbox sets monitor_interval = 1h, so no monitoring run comes on its own while tests run.

Usage: /usr/bin/python3 tests/integration/test_monitor.py ENVFILE
"""

import json
import subprocess
import sys

from harness import SANDBOX, Sandbox, edit_config, monitor_results, restore_config, run_tests, wait_for

def active_timers(sb):
    out = sb.run("control", "systemctl", "list-timers", "--no-pager", "--no-legend", "scheduler-*")
    return {word for line in out.splitlines() for word in line.split() if word.endswith(".timer")}


def show(sb, unit, prop):
    return sb.run("control", "systemctl", "show", "-P", prop, unit).strip()


def started_by_timers_target(sb, timer):
    """The timer is one the generator's drop-in has timers.target want, and it started before the
    notifier did: at boot, not by the notifier's start (which starts any it finds stopped)."""
    assert timer in show(sb, "timers.target", "Wants").split(), timer
    started = int(show(sb, timer, "ActiveEnterTimestampMonotonic"))
    notifier = int(show(sb, "scheduler-notifier.service", "ExecMainStartTimestampMonotonic"))
    assert 0 < started < notifier, (timer, started, notifier)


def generated_monitor_timer(sb, timers, customer):
    """The customer's monitoring timer, which must be among timers: made by the generator at boot,
    from the configuration, and started by timers.target."""
    timer = f"scheduler-{customer}-monitor.timer"
    assert timer in timers, timers
    assert show(sb, timer, "FragmentPath") == f"/run/systemd/generator/{timer}"
    started_by_timers_target(sb, timer)
    return timer


def test_every_customer_has_a_monitoring_timer(sb):
    timers = active_timers(sb)
    for customer in ("acme", "globex"):
        timer = generated_monitor_timer(sb, timers, customer)
        assert show(sb, timer, "SourcePath") == "/etc/scheduler/scheduler.conf"
        assert show(sb, timer, "Description") == f"The Scheduler: monitoring of {customer}, every 1h"
        assert show(sb, timer, "Unit") == f"scheduler-{customer}-monitor.service"
        service = f"scheduler-{customer}-monitor.service"
        assert show(sb, service, "Description") == f"The Scheduler: monitor ping for {customer}"
        env = show(sb, service, "Environment").split()
        assert "SCHEDULER_MODE=monitor" in env and f"SCHEDULER_RUN=scheduler-{customer}-monitor" in env, env
        assert not [e for e in env if e.startswith(("SCHEDULER_ROOM=", "SCHEDULER_SENDER="))], env


def test_a_monitoring_run_is_a_quiet_ping_result(sb):
    before = len(monitor_results(sb, "acme"))
    sb.run("control", "systemctl", "start", "scheduler-acme-monitor.service")
    results = wait_for("monitor result of acme", lambda: (lambda r: r if len(r) > before else None)(
        monitor_results(sb, "acme")), 120)
    entry = results[-1]
    assert entry["SCHEDULER_COMMAND"] == "ping", entry
    assert entry["SCHEDULER_RESULT"] in ("success", "failure"), entry
    assert entry["SCHEDULER_RUN"] == "scheduler-acme-monitor", entry
    assert entry.get("SCHEDULER_ROOM", "") == "" and entry.get("SCHEDULER_REPLY_TO", "") == "", entry
    assert entry.get("_SYSTEMD_UNIT", "scheduler-acme-monitor.service") == "scheduler-acme-monitor.service"
    # For the notifier, not for a person: what failed, as JSON; acme's server is all green.
    report = json.loads(entry["SCHEDULER_REPORT"])
    assert report["held"] is False, report
    assert isinstance(report["failures"], list), report
    # A run by hand leaves the timer as it was.
    assert "scheduler-acme-monitor.timer" in active_timers(sb)
    assert not monitor_results(sb, "globex"), "globex was monitored too"


def test_a_customer_no_longer_monitored_loses_the_timer(sb):
    before = edit_config(sb, lambda t: t.replace("[customer globex]\n", "[customer globex]\nmonitor = no\n"))
    try:
        sb.restart_notifier()
        wait_for("globex's timer stopped",
                 lambda: "scheduler-globex-monitor.timer" not in active_timers(sb), 30)
        assert "scheduler-acme-monitor.timer" in active_timers(sb)
    finally:
        restore_config(sb, before)
    # Monitored again: the notifier starts the generated timer, which is still loaded.
    wait_for("globex's timer back", lambda: "scheduler-globex-monitor.timer" in active_timers(sb), 30)
    assert show(sb, "scheduler-globex-monitor.timer", "FragmentPath").startswith("/run/systemd/generator/")


def test_a_new_customer_gets_a_transient_timer(sb):
    """A customer added since boot has no generated timer: the notifier makes it over D-Bus,
    with the same properties the generator writes."""
    acme = sb.env["CONTROL_CONFIG"]
    with open(acme, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("[customer acme]\n"):text.index("[customer globex]")]
    extra = (section.replace("[customer acme]", "[customer initech]")
             .replace("@alice:", "@peter:").replace("domain = acme.", "domain = initech.")
             .replace("components = ", "#"))
    timer = "scheduler-initech-monitor.timer"
    before = edit_config(sb, lambda t: t.rstrip("\n") + "\n\n" + extra)
    try:
        sb.restart_notifier()
        wait_for("initech's timer", lambda: timer in active_timers(sb), 30)
        assert show(sb, timer, "Transient") == "yes"
        assert show(sb, timer, "Description") == "The Scheduler: monitoring of initech, every 1h"
        monotonic = show(sb, timer, "TimersMonotonic")
        assert "OnBootUSec=1h" in monotonic and "OnUnitActiveUSec=1h" in monotonic, monotonic
        assert show(sb, timer, "RandomizedDelayUSec") == "1min"
        assert show(sb, timer, "AccuracyUSec") == "1s"
        service = "scheduler-initech-monitor.service"
        assert "argv[]=/usr/bin/scheduler-task initech ping " in show(sb, service, "ExecStart")
        assert "SCHEDULER_MODE=monitor" in show(sb, service, "Environment").split()
        assert show(sb, service, "RuntimeMaxUSec") == "10min"
    finally:
        # Its maintenance timer too: the notifier gave initech everything a customer has.
        sb.run("control", "systemctl", "stop", "scheduler-initech-*.timer", check=False)
        restore_config(sb, before)


def test_monitoring_off_creates_nothing(sb):
    timer = "scheduler-initech-monitor.timer"
    before = edit_config(sb, lambda t: t.replace("monitor_interval = 1h\n", "monitor_interval = off\n"))
    assert "monitor_interval = 1h\n" in before, "the sandbox's configuration changed"
    try:
        sb.restart_notifier()
        wait_for("every monitoring timer stopped",
                 lambda: not [t for t in active_timers(sb) if t.endswith("-monitor.timer")], 30)
        assert timer not in active_timers(sb)
    finally:
        restore_config(sb, before)
    both = {"scheduler-acme-monitor.timer", "scheduler-globex-monitor.timer"}
    wait_for("the monitoring timers back", lambda: both <= active_timers(sb), 30)


def test_reboot_brings_the_timers_back(sb):
    subprocess.run([SANDBOX, "reboot", "control", "--name", sb.name], check=True, capture_output=True)
    timers = active_timers(sb)
    for customer in ("acme", "globex"):
        generated_monitor_timer(sb, timers, customer)
    # The schedules' timers too: every customer's weekly maintenance, at the least.
    maintenance = [t for t in timers if "-maintenance-weekly-" in t]
    assert {t.split("-")[1] for t in maintenance} >= {"acme", "globex"}, timers
    for timer in maintenance:
        started_by_timers_target(sb, timer)
    assert "scheduler-initech-monitor.timer" not in timers, timers


TESTS = [
    test_every_customer_has_a_monitoring_timer,
    test_a_monitoring_run_is_a_quiet_ping_result,
    test_a_customer_no_longer_monitored_loses_the_timer,
    test_a_new_customer_gets_a_transient_timer,
    test_monitoring_off_creates_nothing,
    test_reboot_brings_the_timers_back,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
