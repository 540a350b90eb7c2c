"""Benchmark: what end-to-end encryption costs a customer: the wait for the bot's answer to `help`
in an encrypted direct chat (alice's nio client encrypts, the bot decrypts and encrypts its
reply, nio decrypts) against the same in a plaintext room, over N sequential commands each.

Usage: tests/sandbox/sandbox up --build build --name bench
       /usr/bin/python3 tests/bench/e2ee-roundtrip.py /var/tmp/scheduler-sandbox/bench/env [N]
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Sandbox, wait_membership, wait_reply  # noqa: E402
from e2ee_client import DEVICES, chat  # noqa: E402
from figures import percentile  # noqa: E402


def waits(client, room, bot, n):
    out = []
    for _ in range(n):
        start = time.monotonic()
        event = client.send_text(room, "help")
        wait_reply(client, room, event, bot, 60)
        out.append(time.monotonic() - start)
    return out


def main(env_path, n):
    sb = Sandbox(env_path)
    bot = sb.env["BOT_USER"]
    plain = sb.client("alice")
    room = plain.create_room(invite=[bot])
    wait_membership(plain, room, bot, "join")
    alice, dm = chat(sb)
    for name, figures in (("plaintext room", waits(plain, room, bot, n)),
                          ("encrypted chat", waits(alice, dm, bot, n))):
        print(f"{name:15} n={n}  median {statistics.median(figures) * 1000:6.0f} ms  "
              f"p90 {percentile(figures, 90) * 1000:6.0f} ms  max {max(figures) * 1000:6.0f} ms")
    for device in DEVICES:
        device.run(device.nio.close())
        device.store.cleanup()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20)
