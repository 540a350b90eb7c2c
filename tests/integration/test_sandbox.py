#!/usr/bin/python3
"""Smoke test of the sandbox itself: Synapse carries messages between real users, the
customer's server answers over SSH with the key and host key the scheduler is configured with,
and the customers' corner of the internet that ping checks is there: acme.test right, globex.test
half broken, over HTTPS with the run's test CA, DNS from the sandbox's server, mail ports.

    /usr/bin/python3 tests/integration/test_sandbox.py /var/tmp/scheduler-sandbox/NAME/env
"""

import configparser
import json
import os
import random
import socket
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from http.client import HTTPSConnection

from harness import Sandbox, run_tests


def test_users_log_in(sb):
    for who in ("BOT", "ALICE", "BOB", "MALLORY"):
        assert sb.client(who).token, f"{who} got no access token"


def test_alice_talks_to_bob(sb):
    alice, bob = sb.client("alice"), sb.client("bob")
    room = alice.create_room(invite=[sb.env["BOB_USER"]], name="sandbox smoke")
    bob.join(room)
    body = "hello bob " + uuid.uuid4().hex
    alice.send_text(room, body)
    event = bob.wait_for_event(
        room, lambda e: e["type"] == "m.room.message" and e["content"].get("body") == body,
        timeout_s=30)
    assert event["sender"] == sb.env["ALICE_USER"], event
    assert sorted(alice.joined_members(room)) == sorted([sb.env["ALICE_USER"], sb.env["BOB_USER"]])


def configured_host_key(env):
    """The customer's host key exactly as the scheduler's config states it."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(env["CONTROL_ROOT"], "etc/scheduler/scheduler.conf"))
    return conf["customer acme"]["ssh_known_host_key"]


def test_ssh_to_customer(sb):
    with tempfile.NamedTemporaryFile("w", suffix=".known_hosts") as known:
        known.write(f"[127.0.0.1]:{sb.env['SSH_PORT']} {configured_host_key(sb.env)}\n")
        known.flush()
        out = subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", sb.env["SSH_KEY"], "-p", sb.env["SSH_PORT"],
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known.name,
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
             "root@127.0.0.1", "systemctl is-active matrix-mautrix-slack.service"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "active", (out.returncode, out.stdout, out.stderr)


def test_control_has_the_network_config(sb):
    path = os.path.join(sb.env["CONTROL_ROOT"], "etc/scheduler/sandbox-ca.pem")
    with open(path, "rb") as f, open(sb.env["CA_FILE"], "rb") as ca:
        assert f.read() == ca.read(), "the control host's CA is not the run's"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, oct(os.stat(path).st_mode)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(sb.env["CONTROL_CONFIG"])
    assert conf["scheduler"]["resolver"] == sb.env["DNS_ADDR"] + ":53", dict(conf["scheduler"])
    assert conf["scheduler"]["tls_ca_file"] == "/etc/scheduler/sandbox-ca.pem"
    for who in ("acme", "globex"):
        section = conf["customer " + who]
        assert section["domain"] == sb.env[who.upper() + "_DOMAIN"], dict(section)
        assert section["address"] == sb.env[who.upper() + "_ADDR"], dict(section)


# ---------------------------------------------------------------------------------------------
# HTTPS to the customers' front, trusting only the run's test CA

class PinnedHTTPS(HTTPSConnection):
    """HTTPS to HOST (SNI and certificate check) over a TCP connection to ADDR: the host's own
    resolver knows nothing of .test."""

    def __init__(self, host, port, addr, ca_file):
        super().__init__(host, port, timeout=10)
        self.addr = addr
        self.tls = ssl.create_default_context(cafile=ca_file)

    def connect(self):
        sock = socket.create_connection((self.addr, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def https(env, host, path, port=443):
    """GET https://HOST:PORT/PATH → (status, content type, body, days the certificate has left)."""
    customer = "GLOBEX" if host.endswith(env["GLOBEX_DOMAIN"]) else "ACME"
    conn = PinnedHTTPS(host, port, env[customer + "_ADDR"], env["CA_FILE"])
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        expires = ssl.cert_time_to_seconds(conn.sock.getpeercert()["notAfter"])
        return (response.status, response.getheader("Content-Type", ""), body,
                (expires - time.time()) / 86400)
    finally:
        conn.close()


def test_acme_front(sb):
    acme = sb.env["ACME_DOMAIN"]
    assert sb.env["SERVER_NAME"] == acme, "the sandbox's homeserver is acme's"
    for host in (acme, "matrix." + acme, "element." + acme):
        status, ctype, body, days = https(sb.env, host, "/.well-known/matrix/client")
        assert (status, ctype) == (200, "application/json"), (host, status, ctype, body)
        assert json.loads(body) == {"m.homeserver": {"base_url": f"https://matrix.{acme}"}}, body
        assert days > 80, (host, days)
    status, ctype, body, _ = https(sb.env, acme, "/.well-known/matrix/server")
    assert (status, ctype) == (200, "application/json"), (status, ctype, body)
    assert json.loads(body) == {"m.server": f"matrix.{acme}:443"}, body
    status, _, body, _ = https(sb.env, "matrix." + acme, "/_matrix/client/versions")
    assert status == 200 and "versions" in json.loads(body), (status, body)
    for port in (443, 8448):
        status, _, body, _ = https(sb.env, "matrix." + acme, "/_matrix/key/v2/server", port)
        assert status == 200 and json.loads(body)["server_name"] == acme, (port, status, body)


def test_globex_front_is_half_broken(sb):
    globex = sb.env["GLOBEX_DOMAIN"]
    status, ctype, body, days = https(sb.env, globex, "/.well-known/matrix/server")
    assert status == 404 and ctype.startswith("text/html"), (status, ctype, body)
    assert body.startswith(b"<html>"), body
    assert 4 < days < 14, f"globex's certificate has {days:.1f} days left"
    status, ctype, body, _ = https(sb.env, globex, "/.well-known/matrix/client")
    assert (status, ctype) == (200, "application/json"), (status, ctype, body)
    assert json.loads(body)["m.homeserver"]["base_url"] == "https://matrix.example.org", body
    status, _, body, _ = https(sb.env, "matrix." + globex, "/_matrix/client/versions")
    assert status == 200 and "versions" in json.loads(body), (status, body)
    for port in (443, 8448):
        status, ctype, body, _ = https(sb.env, "matrix." + globex, "/_matrix/key/v2/server", port)
        assert status == 200 and ctype.startswith("text/html"), (port, status, ctype)
        assert body == b"<html><body>It works</body></html>\n", (port, body)
    status, _, body, _ = https(sb.env, "matrix." + globex, "/_matrix/federation/v1/version", 8448)
    assert status == 200 and json.loads(body)["server"]["name"] == "Synapse", (status, body)


def refused(addr, port):
    try:
        socket.create_connection((addr, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_mail_ports(sb):
    for port in (25, 587):
        socket.create_connection((sb.env["ACME_ADDR"], port), timeout=5).close()
        assert refused(sb.env["GLOBEX_ADDR"], port), f"globex's port {port} is open"


def test_front_stops_and_starts(sb):
    sb.run("customer", "systemctl", "stop", "matrix-nginx-proxy", timeout=60)
    try:
        assert refused(sb.env["ACME_ADDR"], 443), "acme's port 443 is open with the front stopped"
    finally:
        sb.run("customer", "systemctl", "start", "matrix-nginx-proxy", timeout=60)
    # 'systemctl start' returns once nginx listens.
    assert https(sb.env, sb.env["ACME_DOMAIN"], "/.well-known/matrix/server")[0] == 200


# ---------------------------------------------------------------------------------------------
# DNS: a query built by hand, over UDP and TCP

QTYPES = {"A": 1, "CNAME": 5, "SRV": 33}
NXDOMAIN = 3


def read_name(msg, pos):
    """A possibly compressed name at POS → (name, position after it)."""
    labels, end = [], None
    while msg[pos]:
        if msg[pos] & 0xC0 == 0xC0:
            end = pos + 2 if end is None else end
            pos = (msg[pos] & 0x3F) << 8 | msg[pos + 1]
            continue
        labels.append(msg[pos + 1:pos + 1 + msg[pos]].decode())
        pos += 1 + msg[pos]
    return ".".join(labels), pos + 1 if end is None else end


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the DNS server closed the connection"
        data += chunk
    return data


def dns_query(server, name, qtype, tcp=False):
    """Asks SERVER:53 → (rcode, sorted [(name, type, data)]); data is an address, a name, or
    (priority, weight, port, target) for SRV."""
    qid = random.randrange(1 << 16)
    query = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    query += b"\0" + struct.pack("!2H", QTYPES[qtype], 1)
    if tcp:
        with socket.create_connection((server, 53), timeout=5) as sock:
            sock.sendall(struct.pack("!H", len(query)) + query)
            reply = recv_exact(sock, struct.unpack("!H", recv_exact(sock, 2))[0])
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(query, (server, 53))
            reply = sock.recv(4096)
    rid, flags, qdcount, ancount = struct.unpack("!4H", reply[:8])
    assert rid == qid, (rid, qid)
    pos = 12
    for _ in range(qdcount):
        pos = read_name(reply, pos)[1] + 4
    names = {v: k for k, v in QTYPES.items()}
    answers = []
    for _ in range(ancount):
        rname, pos = read_name(reply, pos)
        rtype, _, _, length = struct.unpack("!2HIH", reply[pos:pos + 10])
        pos += 10
        if rtype == QTYPES["A"]:
            data = socket.inet_ntoa(reply[pos:pos + 4])
        elif rtype == QTYPES["CNAME"]:
            data = read_name(reply, pos)[0]
        elif rtype == QTYPES["SRV"]:
            data = struct.unpack("!3H", reply[pos:pos + 6]) + (read_name(reply, pos + 6)[0],)
        else:
            data = reply[pos:pos + length]
        answers.append((rname, names.get(rtype, rtype), data))
        pos += length
    return flags & 0xF, sorted(answers, key=repr)


def test_dns_zone(sb):
    acme, globex = sb.env["ACME_DOMAIN"], sb.env["GLOBEX_DOMAIN"]
    a, g = sb.env["ACME_ADDR"], sb.env["GLOBEX_ADDR"]
    expected = {
        (acme, "A"): [(acme, "A", a)],
        ("matrix." + acme, "A"): [("matrix." + acme, "A", a)],
        ("element." + acme, "A"): [("element." + acme, "CNAME", "matrix." + acme),
                                   ("matrix." + acme, "A", a)],
        (globex, "A"): [(globex, "A", g)],
        ("matrix." + globex, "A"): [("matrix." + globex, "A", g)],
        ("social." + globex, "A"): [("social." + globex, "CNAME", "elsewhere." + globex),
                                    ("elsewhere." + globex, "A", "127.0.0.98"),
                                    ("elsewhere." + globex, "A", "127.0.0.99")],
        ("_matrix-fed._tcp." + globex, "SRV"): [("_matrix-fed._tcp." + globex, "SRV",
                                                 (10, 0, 8448, "matrix." + globex))],
    }
    for (name, qtype), answers in expected.items():
        for tcp in (False, True):
            got = dns_query(sb.env["DNS_ADDR"], name, qtype, tcp)
            assert got == (0, sorted(answers, key=repr)), (name, qtype, tcp, got)
    assert dns_query(sb.env["DNS_ADDR"], "nothing." + acme, "A") == (NXDOMAIN, [])
    # Nothing outside .test is answered, nor forwarded anywhere.
    rcode, answers = dns_query(sb.env["DNS_ADDR"], "deb.debian.org", "A")
    assert rcode != 0 and not answers, (rcode, answers)


TESTS = [
    test_users_log_in,
    test_alice_talks_to_bob,
    test_ssh_to_customer,
    test_control_has_the_network_config,
    test_acme_front,
    test_globex_front_is_half_broken,
    test_mail_ports,
    test_front_stops_and_starts,
    test_dns_zone,
]

if __name__ == "__main__":
    sys.exit(run_tests(TESTS, Sandbox(sys.argv[1])))
