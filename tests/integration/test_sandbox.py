#!/usr/bin/python3
"""Smoke test of the sandbox itself: Synapse carries messages between real users, and the
customer's server answers over SSH with the key and host key the scheduler is configured with.

    /usr/bin/python3 tests/integration/test_sandbox.py /var/tmp/scheduler-sandbox/NAME/env
"""

import configparser
import os
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import Client, load_env  # noqa: E402


def client(env, who):
    return Client(env["HS_URL"], env[who + "_USER"], env[who + "_PASSWORD"]).login()


def test_users_log_in(env):
    for who in ("BOT", "ALICE", "BOB", "MALLORY"):
        assert client(env, who).token, f"{who} got no access token"


def test_alice_talks_to_bob(env):
    alice, bob = client(env, "ALICE"), client(env, "BOB")
    room = alice.create_room(invite=[env["BOB_USER"]], name="sandbox smoke")
    bob.join(room)
    body = "hello bob " + uuid.uuid4().hex
    alice.send_text(room, body)
    event = bob.wait_for_event(
        room, lambda e: e["type"] == "m.room.message" and e["content"].get("body") == body,
        timeout_s=30)
    assert event["sender"] == env["ALICE_USER"], event
    assert sorted(alice.joined_members(room)) == sorted([env["ALICE_USER"], env["BOB_USER"]])


def configured_host_key(env):
    """The customer's host key exactly as the scheduler's config states it."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(env["CONTROL_ROOT"], "etc/scheduler/scheduler.conf"))
    return conf["customer acme"]["ssh_known_host_key"]


def test_ssh_to_customer(env):
    with tempfile.NamedTemporaryFile("w", suffix=".known_hosts") as known:
        known.write(f"[127.0.0.1]:{env['SSH_PORT']} {configured_host_key(env)}\n")
        known.flush()
        out = subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", env["SSH_KEY"], "-p", env["SSH_PORT"],
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known.name,
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
             "root@127.0.0.1", "systemctl is-active matrix-mautrix-slack.service"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "active", (out.returncode, out.stdout, out.stderr)


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} ENVFILE")
    env = load_env(argv[1])
    tests = [test_users_log_in, test_alice_talks_to_bob, test_ssh_to_customer]
    failed = 0
    for test in tests:
        try:
            test(env)
            print(f"PASS {test.__name__}")
        except Exception as e:  # a test bed reports every failure, whatever its kind
            failed += 1
            print(f"FAIL {test.__name__}: {type(e).__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
