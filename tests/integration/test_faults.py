"""Faults the bot must ride out, each with its figure printed: a customer's SSH server that
accepts connections and then says nothing (a clear failure after the handshake timeout, no hang;
another customer answered meanwhile). (The homeserver away, a SIGKILL mid-conversation and mid-run
are in test_notifier, test_run and test_maintenance.)

Usage: /usr/bin/python3 tests/integration/test_faults.py ENVFILE
"""

import socket
import sys
import time

from harness import Sandbox, run_tests, wait_reply
from test_monitor import edit_config, restore_config, restart_notifier
from test_run import result_of


def silent_listener():
    """A TCP port that accepts connections and never says a word (a hung sshd)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def test_a_silent_ssh_server_fails_clearly_and_others_are_answered(sb):
    bot = sb.env["BOT_USER"]
    alice, room_a = sb.customer_room("alice")
    bob, room_b = sb.customer_room("bob")
    listener = silent_listener()
    port = listener.getsockname()[1]
    section = "[customer acme]"
    before = edit_config(sb, lambda t: t.replace(section, f"{section}\nssh_port = {port}", 1)
                         .replace(f"ssh_port = {sb.env['SSH_PORT']}\n", "", 1))
    try:
        restart_notifier(sb)
        start = time.monotonic()
        ping = alice.send_text(room_a, "run disk")
        wait_reply(alice, room_a, ping, bot)
        waits = []
        for _ in range(3):
            t0 = time.monotonic()
            wait_reply(bob, room_b, bob.send_text(room_b, "help"), bot)
            waits.append(time.monotonic() - t0)
        result = result_of(alice, room_a, ping, bot, 120)["content"]["body"]
        took = time.monotonic() - start
        print(f"    `run disk` against a silent sshd: failed after {took:.1f} s; bob meanwhile answered in "
              f"{', '.join(f'{w * 1000:.0f}' for w in waits)} ms", flush=True)
        assert result.startswith("Execution of `run disk` command failed"), result
        assert "is sshd healthy?" in result, result
    finally:
        listener.close()
        restore_config(sb, before)


if __name__ == "__main__":
    sys.exit(run_tests([test_a_silent_ssh_server_fails_clearly_and_others_are_answered], Sandbox(sys.argv[1])))
