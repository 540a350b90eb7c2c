/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Which addresses ping may connect to. Names the customer controls (their domain, its well-known
 * and SRV delegation) could point anywhere, also into the control host's own network: loopback,
 * link-local (a cloud's metadata service), private, shared and reserved ranges are not connected to,
 * unless the operator allows a network ([scheduler] ping_allowed_networks). Pure. */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef struct NetRange {
        int family;         /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        unsigned prefix;    /* bits */
} NetRange;

/* "10.0.0.0/8", "fd00::/8" or a single address; the host bits must be zero. -EINVAL if not. */
int netrange_parse(const char *s, NetRange *ret);
/* Why ping does not connect to address (a numeric IPv4 or IPv6 address): "loopback", "private",
 * "link-local", …, or NULL if it may, or if allowed holds it. An address that is not one: "invalid". */
const char *netrange_refused(const char *address, const NetRange *allowed, size_t n_allowed);
