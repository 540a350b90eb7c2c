#!/usr/bin/python3
"""scheduler-task against a real sshd: run inside the sandbox's control container, as its
transient services run it, on the customer container's server. What it reports is checked
against what df, du and systemctl say when asked directly; what it refuses must not reach the
customer's server at all (its sshd logs no login).

Usage: /usr/bin/python3 tests/integration/test_task.py ENVFILE
"""

import os
import re
import subprocess
import sys
import time

from harness import SANDBOX, Sandbox, run_tests

DISK_PATHS = [("Database", "/matrix/postgres/data"),
              ("Database backups", "/matrix/postgres-backup"),
              ("Media", "/matrix/synapse/storage/media-store")]
SLACK = "matrix-mautrix-slack.service"
MARKER = "/root/scheduler-was-here"


def task(sb, *args, config=None, customer="acme"):
    """Runs scheduler-task in the control container; returns (exit status, stdout, seconds)."""
    cmd = [SANDBOX, "control", "--name", sb.name, "scheduler-task"]
    if config:
        cmd += ["--config", config]
    start = time.monotonic()
    out = subprocess.run(cmd + [customer, *args], capture_output=True, text=True, timeout=180)
    # An ASan/UBSan build reports its findings on stderr.
    assert "Sanitizer" not in out.stderr and "runtime error" not in out.stderr, out.stderr
    return out.returncode, out.stdout, time.monotonic() - start


def ssh(sb, command):
    """Asks the customer's server directly, the way an operator would."""
    env = sb.env
    out = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", env["SSH_KEY"], "-p", env["SSH_PORT"], "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", "UserKnownHostsFile=" + env["SSH_KNOWN_HOSTS"], "-o", "GlobalKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "root@127.0.0.1", command],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def unit_property(sb, prop, unit=SLACK):
    return sb.run("customer", "systemctl", "show", "-P", prop, unit).strip()


def logins(sb):
    out = sb.run("customer", "journalctl", "--no-pager", "-o", "cat", "-u", "ssh.service", check=False)
    return out.count("Accepted publickey for root")


def assert_no_login_since(sb, before):
    """No login between the count `before` and now. Journald may lag behind sshd, so log in once
    ourselves and wait for exactly that one login to show up."""
    ssh(sb, "true")
    deadline = time.monotonic() + 10
    while logins(sb) < before + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logins(sb) == before + 1, f"logins: {before} before, {logins(sb)} after (one of them ours)"


def config_variant(sb, name, edit):
    """A copy of the control host's scheduler.conf with edit(text) applied; returns its path
    inside the container."""
    base = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler")
    with open(os.path.join(base, "scheduler.conf"), encoding="utf-8") as f:
        text = edit(f.read())
    with open(os.path.join(base, name), "w", encoding="utf-8") as f:
        f.write(text)
    return "/etc/scheduler/" + name


def set_key(text, key, value):
    """Sets key in the [customer acme] section (adding it there if missing)."""
    head, sep, rest = text.partition("[customer acme]\n")
    section, nxt, tail = rest.partition("\n[")
    lines = [line for line in section.split("\n") if not line.startswith(key + " =")]
    lines.insert(0, f"{key} = {value}")
    return head + sep + "\n".join(lines) + nxt + tail


def human(n):
    """du -h's rounding (up), with a B below 1 KiB."""
    if n < 1024:
        return f"{n}B"
    for i, unit in enumerate("KMGTPE"):
        base = 1024 ** (i + 1)
        if n // base < 1024 or unit == "E":
            break
    tenths = -(-n * 10 // base)
    if tenths < 100:
        return f"{tenths // 10}.{tenths % 10}{unit}"
    whole = -(-n // base)
    if whole >= 1024 and unit != "E":
        return "1.0" + "KMGTPE"[i + 1]
    return f"{whole}{unit}"


def test_disk_matches_du_and_df(sb):
    domain = sb.env["ACME_DOMAIN"]
    rc, out, _ = task(sb, "disk")
    assert rc == 0, (rc, out)
    lines = out.splitlines()
    assert len(lines) == 1 + len(DISK_PATHS), out

    m = re.fullmatch(rf"INFO \[{re.escape(domain)}\] disk usage: (\d+)%", lines[0])
    assert m, lines[0]
    df = ssh(sb, "df -P /").splitlines()[1].split()
    assert abs(int(m.group(1)) - int(df[-2].rstrip("%"))) <= 1, (lines[0], df)

    paths = " ".join(p for _, p in DISK_PATHS)
    sizes = [int(line.split("\t")[0]) for line in ssh(sb, f"du -sb {paths}").splitlines()]
    du_h = [line.split("\t")[0] for line in ssh(sb, f"du -sh --apparent-size {paths}").splitlines()]
    for (label, _), line, size, shown in zip(DISK_PATHS, lines[1:], sizes, du_h):
        assert line == f"INFO [{domain}] {label}: {human(size)}", (line, size)
        # GNU du's own rounding agrees (it prints bytes without the B).
        assert line.endswith(": " + shown) or line.endswith(f": {shown}B"), (line, shown)
    # The sandbox's data: the backups hold a sparse 5.9 GiB dump, the database some 20 MiB.
    assert lines[2].endswith(": 6.0G"), lines[2]
    assert lines[1].endswith(": 21M"), lines[1]


def test_disk_path_not_found(sb):
    conf = config_variant(sb, "test-task-paths.conf", lambda t: set_key(
        t, "disk_paths", "Database=/matrix/postgres/data, Nothing=/matrix/nothing-here"))
    rc, out, _ = task(sb, "disk", config=conf)
    assert rc == 0, (rc, out)
    domain = sb.env["ACME_DOMAIN"]
    assert out.splitlines()[1:] == [f"INFO [{domain}] Database: 21M",
                                    f"INFO [{domain}] Nothing: not found"], out


def with_fake_du(sb, script, check):
    """Puts a du of our own first in the customer's PATH for the duration of check()."""
    path = os.path.join(sb.env["CUSTOMER_ROOT"], "usr/local/bin/du")
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n" + script + "\n")
    os.chmod(path, 0o755)
    try:
        check()
    finally:
        os.unlink(path)


def test_disk_hostile_output_is_a_clear_failure(sb):
    cases = [
        ('echo "-5\t$3"', "line 3 (/matrix/postgres/data): the size is not a number"),
        ('echo "99999999999999999999999\t$3"', "line 3 (/matrix/postgres/data): the size is out of range"),
        ('echo "12\t/etc"', "line 3 (/matrix/postgres/data): not the path that was asked for"),
        ('echo "12 $3"', "no size and path separated by a tab"),
        ('echo "12\t$3"; echo "13\t$3"', "line 4 (/matrix/postgres-backup): not the path"),
        # 5 MB of digits: cut at 1 MiB, then refused.
        ('head -c 5000000 /dev/zero | tr "\\0" 9', "(more than 1 MiB of output)"),
        ('echo "du: cannot read directory: Permission denied" >&2; exit 1',
         "the disk check on the server failed: exit status 1: du: cannot read directory: Permission denied"),
        ("kill -KILL $PPID", "the disk check on the server was killed by signal SIGKILL"),
    ]
    for script, expected in cases:
        def check():
            rc, out, _ = task(sb, "disk")
            assert rc == 1, (script, rc, out)
            assert out.startswith("failed: ") and expected in out, (script, out)
            assert out.count("\n") == 1, (script, out)
        with_fake_du(sb, script, check)


def test_restart_slack_restarts_it(sb):
    before = unit_property(sb, "InvocationID")
    before_mono = int(unit_property(sb, "ActiveEnterTimestampMonotonic"))
    rc, out, _ = task(sb, "restart", "slack")
    assert rc == 0, (rc, out)
    assert unit_property(sb, "InvocationID") != before, "not restarted"
    assert int(unit_property(sb, "ActiveEnterTimestampMonotonic")) > before_mono
    since = sb.run("customer", "systemctl", "show", "-P", "ActiveEnterTimestamp", SLACK).strip()
    assert out == f"`matrix-mautrix-slack` restarted: active (running) since {since}\n", out


def test_restart_full_name(sb):
    unit = "matrix-mautrix-telegram.service"
    before = unit_property(sb, "InvocationID", unit)
    rc, out, _ = task(sb, "restart", "matrix-mautrix-telegram")
    assert rc == 0, (rc, out)
    assert out.startswith("`matrix-mautrix-telegram` restarted: active (running) since "), out
    assert unit_property(sb, "InvocationID", unit) != before


def test_restart_of_a_missing_unit_says_what_systemctl_said(sb):
    rc, out, _ = task(sb, "restart", "matrix-nonexistent")
    assert rc == 1, (rc, out)
    assert out == ("failed: systemctl restart matrix-nonexistent failed: exit status 5: Failed to restart "
                   "matrix-nonexistent.service: Unit matrix-nonexistent.service not found.\n"), out


def test_restart_of_a_failing_unit(sb):
    units = os.path.join(sb.env["CUSTOMER_ROOT"], "etc/systemd/system")
    broken, flaky = os.path.join(units, "matrix-broken.service"), os.path.join(units, "matrix-flaky.service")
    with open(broken, "w", encoding="utf-8") as f:
        f.write("[Service]\nType=exec\nExecStart=/bin/nonexistent\n")
    with open(flaky, "w", encoding="utf-8") as f:
        f.write("[Service]\nExecStart=/bin/sh -c 'exit 3'\n")
    sb.run("customer", "systemctl", "daemon-reload")
    try:
        rc, out, _ = task(sb, "restart", "matrix-broken")
        assert rc == 1, (rc, out)
        assert out == ("failed: systemctl restart matrix-broken failed: exit status 1: Job for "
                       "matrix-broken.service failed because the control process exited with error code. "
                       "See \"systemctl status matrix-broken.service\" and \"journalctl -xeu "
                       "matrix-broken.service\" for details.\n"), out
        # Started fine, then died: systemctl restart cannot tell, the state afterwards does.
        rc, out, _ = task(sb, "restart", "matrix-flaky")
        assert rc == 1 and out == "failed: `matrix-flaky` was restarted but is now failed (failed)\n", out
    finally:
        os.unlink(broken)
        os.unlink(flaky)
        sb.run("customer", "systemctl", "daemon-reload")


def test_restart_refuses_names_it_does_not_know(sb):
    before, slack = logins(sb), unit_property(sb, "InvocationID")
    for name in ("sshd", "ssh", "systemd-journald", "matrix-", "nginx"):
        rc, out, _ = task(sb, "restart", name)
        assert rc == 1, (name, rc, out)
        assert out == (f"failed: `{name}` is not a service I know; use a name like `slack` or a full "
                       "`matrix-…` service name\n"), out
    for args in ((), ("slack", "telegram")):
        rc, out, _ = task(sb, "restart", *args)
        assert rc == 1 and out == "failed: `restart` takes one service name, like `restart slack`\n", out
    assert_no_login_since(sb, before)
    assert unit_property(sb, "InvocationID") == slack


def test_injection_attempts_run_nothing(sb):
    before, slack = logins(sb), unit_property(sb, "InvocationID")
    for name in (f"slack;touch {MARKER}", f"$(touch {MARKER})", f"`touch {MARKER}`",
                 f"slack\ntouch {MARKER}", f"slack' ; touch {MARKER}; '", f"slack && touch {MARKER}",
                 "matrix-a/../../sshd", "-H root@elsewhere", "x" * 5000):
        rc, out, _ = task(sb, "restart", name)
        assert rc == 1, (name, rc, out)
        assert out == ("failed: a service name has only letters, digits and -_.@:; use a name like "
                       "`slack` or a full `matrix-…` service name\n"), (name, out)
    rc, out, _ = task(sb, "disk", f"; touch {MARKER}")
    assert rc == 1 and out == "failed: `disk` takes no arguments\n", out
    assert_no_login_since(sb, before)
    assert unit_property(sb, "InvocationID") == slack
    marker = subprocess.run([SANDBOX, "customer", "--name", sb.name, "test", "-e", MARKER])
    assert marker.returncode == 1, f"{MARKER} exists on the customer's server"


def test_wrong_host_key_is_refused_before_login(sb):
    other = os.path.join(sb.env["SANDBOX_RUN"], "test-task-other-host-key")
    if not os.path.exists(other):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    with open(other + ".pub", encoding="utf-8") as f:
        key = " ".join(f.read().split()[:2])
    conf = config_variant(sb, "test-task-hostkey.conf", lambda t: set_key(t, "ssh_known_host_key", key))
    real_pub = os.path.join(sb.env["SANDBOX_RUN"], "customer/host_key.pub")
    real = subprocess.run(["ssh-keygen", "-lf", real_pub],
                          capture_output=True, text=True, check=True).stdout.split()[1]
    before = logins(sb)
    rc, out, _ = task(sb, "disk", config=conf)
    assert rc == 1, (rc, out)
    assert out == (f"failed: the host key of 127.0.0.1:{sb.env['SSH_PORT']} does not match the configured "
                   f"one (the server presents ssh-ed25519 {real}); refusing to connect, as this may be "
                   f"an attack (someone between us and the server). If the server was reinstalled or its "
                   f"keys were changed, the operator should compare this key with the server's own and "
                   f"update ssh_known_host_key\n"), out
    assert_no_login_since(sb, before)


def test_connection_refused_is_quick_and_clear(sb):
    conf = config_variant(sb, "test-task-closed.conf", lambda t: set_key(t, "ssh_port", "1"))
    rc, out, seconds = task(sb, "restart", "slack", config=conf)
    assert rc == 1, (rc, out)
    assert out == ("failed: cannot connect to 127.0.0.1:1: connection refused (is the server up and sshd "
                   "running?)\n"), out
    assert seconds < 5, seconds


def test_key_not_authorized(sb):
    other = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler/secrets/test-task-other.key")
    if not os.path.exists(other):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    conf = config_variant(sb, "test-task-key.conf", lambda t: set_key(
        t, "ssh_key_file", "/etc/scheduler/secrets/test-task-other.key"))
    before = logins(sb)
    rc, out, _ = task(sb, "disk", config=conf)
    assert rc == 1, (rc, out)
    assert out == (f"failed: authentication as root at 127.0.0.1:{sb.env['SSH_PORT']} failed (is the key in "
                   "authorized_keys?)\n"), out
    assert_no_login_since(sb, before)

    conf = config_variant(sb, "test-task-nokey.conf", lambda t: set_key(
        t, "ssh_key_file", "/etc/scheduler/secrets/none.key"))
    rc, out, _ = task(sb, "disk", config=conf)
    assert rc == 1 and out == ("failed: cannot read the SSH key /etc/scheduler/secrets/none.key: "
                               "No such file or directory\n"), out


def test_unknown_host(sb):
    conf = config_variant(sb, "test-task-host.conf",
                          lambda t: set_key(t, "ssh_host", "no-such-host.invalid"))
    rc, out, _ = task(sb, "disk", config=conf)
    assert rc == 1 and out == "failed: cannot resolve no-such-host.invalid (is the host name right?)\n", out


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} ENVFILE")
    sb = Sandbox(argv[1])
    tests = [
        test_disk_matches_du_and_df,
        test_disk_path_not_found,
        test_disk_hostile_output_is_a_clear_failure,
        test_restart_slack_restarts_it,
        test_restart_full_name,
        test_restart_of_a_missing_unit_says_what_systemctl_said,
        test_restart_of_a_failing_unit,
        test_restart_refuses_names_it_does_not_know,
        test_injection_attempts_run_nothing,
        test_wrong_host_key_is_refused_before_login,
        test_connection_refused_is_quick_and_clear,
        test_key_not_authorized,
        test_unknown_host,
    ]
    return run_tests(tests, sb)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
