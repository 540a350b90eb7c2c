"""Faults the bot must ride out, each with its figure printed: a customer's SSH server that
accepts connections and then says nothing (a clear failure after the handshake timeout, no hang;
another customer answered meanwhile); 100 commands while the notifier is SIGKILLed at random
moments (each answered exactly once, each run's result delivered exactly once). The homeserver
away, a SIGKILL mid-conversation and mid-run are in test_notifier, test_run and test_maintenance.

Usage: /usr/bin/python3 tests/integration/test_sigkills_and_hung_ssh.py ENVFILE
"""

import os
import random
import sys
import time

from harness import (INITIATED, Sandbox, bot_answers, edit_config, restore_config, result_of, run_tests,
                     silent_listener, wait_reply)


COMMANDS = 100
KILLS = 5


def settled(answers):
    """Every command has its first answer, and every run its result."""
    return all(a and (a[0] != INITIATED or any(b.startswith("Execution of") for b in a))
               for a in answers.values())


def test_100_commands_through_sigkills_each_answered_once(sb):
    bot = sb.env["BOT_USER"]
    alice, room = sb.customer_room("alice")
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    restarts = int(sb.notifier_property("NRestarts"))
    start = time.monotonic()
    commands = [alice.send_text(room, "run price") for _ in range(COMMANDS)]
    # SIGKILL at random moments while the bot works through them (systemd restarts it): each time
    # a random number of further commands have their answer. (While systemd waits to restart it
    # there is nothing to kill.)
    kills, next_kill = 0, rng.randint(1, 15)
    deadline = time.monotonic() + 300
    while not settled(answers := bot_answers(alice, room, bot, commands)):
        assert time.monotonic() < deadline, "not every command was answered"
        answered = sum(1 for a in answers.values() if a)
        if kills < KILLS and answered >= next_kill and sb.notifier_property("ActiveState") == "active":
            sb.run("control", "systemctl", "kill", "--signal=KILL", "scheduler-notifier.service")
            kills += 1
            next_kill = answered + rng.randint(2, 8)
    marker = alice.send_text(room, "help")
    wait_reply(alice, room, marker, bot, timeout_s=60)
    took = time.monotonic() - start
    answers = bot_answers(alice, room, bot, commands)
    results = {cmd: [b for b in answers[cmd] if b.startswith("Execution of")] for cmd in commands}
    firsts = {cmd: [b for b in answers[cmd] if not b.startswith("Execution of")] for cmd in commands}
    ran = [cmd for cmd in commands if firsts[cmd][:1] == [INITIATED]]
    print(f"    {COMMANDS} `run price` with {kills} SIGKILLs of the notifier: {len(ran)} ran (the others "
          f"were told one is already running), {sum(map(len, results.values()))} results, "
          f"in {took:.0f} s", flush=True)
    assert int(sb.notifier_property("NRestarts")) - restarts == kills, "not every kill restarted it"
    for cmd in commands:
        assert len(firsts[cmd]) == 1, (cmd, answers[cmd])
        assert firsts[cmd][0] in (INITIATED, "`price` is already running"), (cmd, answers[cmd])
        assert len(results[cmd]) == (1 if cmd in ran else 0), (cmd, answers[cmd])


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
        sb.restart_notifier()
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
    sys.exit(run_tests([test_a_silent_ssh_server_fails_clearly_and_others_are_answered,
                        test_100_commands_through_sigkills_each_answered_once], Sandbox(sys.argv[1])))
