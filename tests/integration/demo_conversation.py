"""The demo's scripted conversation: a customer and a stranger talk to the bot on the real
Synapse; every message and reply is printed as a chat transcript.

Usage: /usr/bin/python3 tests/integration/demo_conversation.py ENVFILE
"""

import sys
import time
import textwrap

from harness import Sandbox, is_reply_to, wait_membership, wait_reply


def show(sender, body):
    stamp = time.strftime("%H:%M:%S")
    lines = body.splitlines() or [""]
    print(f"[{stamp}] {sender}: {lines[0]}")
    for line in lines[1:]:
        print(textwrap.indent(line, " " * (len(stamp) + len(sender) + 5)))
    sys.stdout.flush()


def say(client, room, bot, text):
    show(client.user_id, text)
    event = client.send_text(room, text)
    reply = wait_reply(client, room, event, bot)
    show(bot, reply["content"]["body"])
    if reply["content"]["body"].startswith("Command execution initiated"):
        client.cursors[room] = 0
        result = client.wait_for_event(room, lambda e: is_reply_to(event, bot)(e)
                                       and e["content"]["body"].startswith("Execution of"), 120)
        show(bot, result["content"]["body"])


def main(env_path):
    sb = Sandbox(env_path)
    bot = sb.env["BOT_USER"]
    alice = sb.client("alice")
    print(f"{alice.user_id} (owner of customer acme) opens a chat with {bot}")
    room = alice.create_room(invite=[bot], name="acme maintenance")
    wait_membership(alice, room, bot, "join")
    print(f"{bot} joined {room}\n")
    for text in ("help", "run price", "run ping", "run disk", "run restart slack", "run restart sshd",
                 "run restart slack;reboot", "list runs", "what can you do?"):
        say(alice, room, bot, text)

    print(f"\n{alice.user_id} invites {sb.env['MALLORY_USER']}, who is nobody's owner")
    alice.invite(room, sb.env["MALLORY_USER"])
    mallory = sb.client("mallory")
    mallory.join(room)
    say(mallory, room, bot, "run maintenance")


if __name__ == "__main__":
    main(sys.argv[1])
