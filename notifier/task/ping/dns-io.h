/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* One DNS question over UDP on an sd_event loop: sent, re-sent once a second, answered or timed
 * out; many at once in one loop. The answer is read by dns.h. */

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "dns.h"

/* error 0: a is the answer (its rcode may still say NXDOMAIN); the callback may take its fields
 * (leaving NULL behind). Otherwise why says what went wrong ("timeout", "refused by the server",
 * "malformed answer record"). a and why live until the callback returns. */
typedef void (*dns_callback_t)(int error, DnsAnswer *a, const char *why, void *userdata);

typedef struct DnsServer {
        struct sockaddr_storage address;
        socklen_t length;
} DnsServer;

/* The server from [scheduler] resolver=, or NULL for the first nameserver of /etc/resolv.conf
 * (127.0.0.1 if it has none). */
int dns_server_init(DnsServer *s, const char *configured);

/* Calls cb exactly once, from the loop, unless it returns < 0 (then never). */
int dns_lookup(sd_event *e, const DnsServer *server, const char *name, uint16_t type, uint64_t timeout_usec,
               dns_callback_t cb, void *userdata);
