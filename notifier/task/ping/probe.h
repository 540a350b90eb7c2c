/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What ping's network checks do, all at once on one sd_event loop: resolve a name (A and AAAA,
 * through our own resolver), fetch an https:// URL (curl multi, pinned to the addresses we
 * resolved, TLS checked against the configured CAs, the certificate's expiry read), open a TCP
 * connection. Each has its own timeout and reports once, with a reason a customer can read. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "dns-io.h"
#include "netrange.h"
#include "util.h"

typedef struct Prober Prober;

/* allowed: networks to connect to though they are private, loopback, … (netrange.h); borrowed. */
int prober_new(sd_event *e, const char *resolver, const char *ca_file, const NetRange *allowed,
               size_t n_allowed, Prober **ret);
Prober *prober_free(Prober *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Prober *, prober_free);

typedef struct Resolved {
        const char *why;        /* NULL: resolved (addresses may still be empty: no records) */
        bool nxdomain;
        char **cnames;          /* the alias chain, if the name is one */
        char **answered;        /* A then AAAA, as the DNS server gave them */
        char **addresses;       /* those of them ping may connect to (netrange.h) */
        const char *refused;    /* why the others are not, "points only to 10.0.0.5, a private address,
                                 * which is not checked" (the first); NULL: none */
} Resolved;
typedef void (*resolve_callback_t)(Prober *p, const Resolved *r, void *userdata);
int probe_resolve(Prober *p, const char *host, resolve_callback_t cb, void *userdata);

typedef struct SrvAnswer {
        const char *why;
        DnsSrv *srv;            /* sorted: lowest priority first, then highest weight */
        size_t n_srv;
} SrvAnswer;
typedef void (*srv_callback_t)(Prober *p, const SrvAnswer *r, void *userdata);
int probe_srv(Prober *p, const char *name, srv_callback_t cb, void *userdata);

typedef struct HttpResult {
        const char *why;        /* NULL: an HTTP answer came; else "timeout", curl's reason… */
        long status;
        const char *body;       /* NUL-terminated, at most PROBE_BODY_MAX bytes */
        size_t size;
        time_t cert_expiry;     /* the server certificate's notAfter; 0: unknown */
} HttpResult;
#define PROBE_BODY_MAX (1024U * 1024U)
typedef void (*http_callback_t)(Prober *p, const HttpResult *r, void *userdata);
/* Why ping does not connect to address ("loopback", "private", …; netrange.h), or NULL. */
const char *probe_address_refused(Prober *p, const char *address);

/* GET url, connecting to one of addresses (the URL's host and port are kept for TLS and Host:).
 * -EPERM if one of them is refused (probe_address_refused()). */
int probe_http(Prober *p, const char *url, char *const *addresses, http_callback_t cb, void *userdata);

typedef void (*tcp_callback_t)(Prober *p, const char *why, void *userdata);
int probe_tcp(Prober *p, const char *address, unsigned port, tcp_callback_t cb, void *userdata);

/* "Nov 24 17:00:00 2026 GMT" (as curl shows a certificate's dates) → time_t, or -EINVAL. */
int probe_parse_cert_time(const char *s, time_t *ret);
