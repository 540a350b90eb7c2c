/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netrange.h"
#include "util.h"

static const struct {
        const char *range, *why;
} refused[] = {
        { "0.0.0.0/8", "reserved" },         { "10.0.0.0/8", "private" },
        { "100.64.0.0/10", "shared" },       { "127.0.0.0/8", "loopback" },
        { "169.254.0.0/16", "link-local" },  { "172.16.0.0/12", "private" },
        { "192.0.0.0/24", "reserved" },      { "192.168.0.0/16", "private" },
        { "198.18.0.0/15", "reserved" },     { "224.0.0.0/4", "multicast" },
        { "240.0.0.0/4", "reserved" },       { "::/128", "reserved" },
        { "::1/128", "loopback" },           { "fc00::/7", "private" },
        { "fec0::/10", "private" },          { "fe80::/10", "link-local" },
        { "ff00::/8", "multicast" },         { "64:ff9b:1::/48", "private" },
        /* Teredo: a tunnel whose far end is written in the address, obfuscated. */
        { "2001::/32", "tunnel" },
};

/* IPv6 addresses that carry an IPv4 address, and where: a private IPv4 address is as private in
 * them (mapped, compatible, NAT64's well-known prefix, 6to4). */
static const struct {
        const char *range;
        unsigned offset;
} embedding[] = {
        { "::ffff:0:0/96", 12 }, { "::/96", 12 }, { "64:ff9b::/96", 12 }, { "2002::/16", 2 },
};

static bool address_parse(const char *s, int *ret_family, uint8_t ret[16]) {
        memset(ret, 0, 16);
        if (inet_pton(AF_INET, s, ret) == 1)
                *ret_family = AF_INET;
        else if (inet_pton(AF_INET6, s, ret) == 1)
                *ret_family = AF_INET6;
        else
                return false;
        return true;
}

static bool in_range(int family, const uint8_t a[16], const NetRange *r) {
        unsigned full = r->prefix / 8, rest = r->prefix % 8;

        if (family != r->family || memcmp(a, r->addr, full) != 0)
                return false;
        return rest == 0 || ((a[full] ^ r->addr[full]) & (uint8_t) (0xFF << (8 - rest))) == 0;
}

int netrange_parse(const char *s, NetRange *ret) {
        _cleanup_free_ char *copy = strdup(s);
        char *slash = copy ? strchr(copy, '/') : NULL, *end;
        NetRange r = {};
        unsigned max;

        if (!copy)
                return -ENOMEM;
        if (slash)
                *slash = 0;
        if (!address_parse(copy, &r.family, r.addr))
                return -EINVAL;
        max = r.family == AF_INET ? 32 : 128;
        r.prefix = max;
        if (slash) {
                errno = 0;
                unsigned long p = strtoul(slash + 1, &end, 10);
                if (errno || *end || end == slash + 1 || slash[1] == '-' || slash[1] == '+' || p > max)
                        return -EINVAL;
                r.prefix = (unsigned) p;
        }
        /* The host bits are zero: "10.1.2.3/8" is a mistake more often than not. */
        for (unsigned bit = r.prefix; bit < max; bit++)
                if (r.addr[bit / 8] & (0x80 >> (bit % 8)))
                        return -EINVAL;
        *ret = r;
        return 0;
}

const char *netrange_refused(const char *address, const NetRange *allowed, size_t n_allowed) {
        uint8_t a[16];
        int family;

        if (!address || !address_parse(address, &family, a))
                return "invalid";
        /* The IPv4 address inside (::ffff:10.0.0.1, 64:ff9b::a00:1, 2002:a00:1::) decides; :: and
         * ::1 are what they are. */
        for (size_t i = 0; family == AF_INET6 && i < ELEMENTSOF(embedding); i++) {
                static const uint8_t loopback6[16] = { [15] = 1 }, any6[16] = {};
                NetRange r;

                if (netrange_parse(embedding[i].range, &r) < 0 || !in_range(family, a, &r) ||
                    memcmp(a, loopback6, 16) == 0 || memcmp(a, any6, 16) == 0)
                        continue;
                memmove(a, a + embedding[i].offset, 4);
                memset(a + 4, 0, 12);
                family = AF_INET;
        }
        for (size_t i = 0; i < n_allowed; i++)
                if (in_range(family, a, &allowed[i]))
                        return NULL;
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                NetRange r;
                if (netrange_parse(refused[i].range, &r) >= 0 && in_range(family, a, &r))
                        return refused[i].why;
        }
        return NULL;
}
