/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Which addresses ping connects to: not into the control host's own networks, unless allowed. */

#include <sys/socket.h>

#include "netrange.h"
#include "tests.h"

TEST(addresses_of_the_hosts_own_networks_are_refused) {
        static const struct {
                const char *address, *why;
        } cases[] = {
                { "127.0.0.1", "loopback" },        { "127.12.0.9", "loopback" },
                { "10.1.2.3", "private" },          { "172.16.0.1", "private" },
                { "172.31.255.255", "private" },    { "192.168.1.1", "private" },
                { "169.254.169.254", "link-local" }, { "100.64.0.1", "shared" },
                { "0.0.0.0", "reserved" },          { "224.0.0.1", "multicast" },
                { "255.255.255.255", "reserved" },  { "::1", "loopback" },
                { "::", "reserved" },               { "fd00::1", "private" },
                { "fe80::1", "link-local" },        { "ff02::1", "multicast" },
                { "::ffff:10.0.0.1", "private" },   { "::ffff:127.0.0.1", "loopback" },
                { "::10.0.0.1", "private" },        { "64:ff9b::a9fe:a9fe", "link-local" },
                { "2002:c0a8:101::1", "private" },  { "2001:0:4136:e378::1", "tunnel" },
                { "fec0::1", "private" },           { "64:ff9b:1::1", "private" },
                { "64:ff9b::808:808", NULL },       { "2002:808:808::1", NULL },
                { "8.8.8.8", NULL },                { "172.32.0.1", NULL },
                { "192.0.2.10", NULL },             { "2001:db8::1", NULL },
                { "::ffff:8.8.8.8", NULL },         { "localhost", "invalid" },
                { "10.0.0.1; reboot", "invalid" },  { "", "invalid" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].address) {
                const char *why = netrange_refused(cases[i].address, NULL, 0);
                if (!cases[i].why)
                        ASSERT_TRUE(why == NULL);
                else
                        ASSERT_STREQ(why, cases[i].why);
        }
}

TEST(the_operator_may_allow_networks) {
        static const struct {
                const char *address, *why;
        } cases[] = {
                { "127.5.6.7", NULL },       { "::ffff:127.5.6.7", NULL }, { "fd00:1:ffff::1", NULL },
                { "fd00:2::1", "private" },  { "10.0.0.1", "private" },    { "::1", "loopback" },
        };
        NetRange allowed[2];

        ASSERT_OK(netrange_parse("127.0.0.0/8", &allowed[0]));
        ASSERT_OK(netrange_parse("fd00:1::/32", &allowed[1]));
        FOREACH_ROW(i, cases, "\"%s\"", cases[i].address)
                ASSERT_STREQ(netrange_refused(cases[i].address, allowed, 2), cases[i].why);
}

TEST(networks_parse_strictly) {
        static const struct {
                const char *text;
                int r, family;
                unsigned prefix;
        } cases[] = {
                { "10.0.0.0/8", 0, AF_INET, 8 },
                { "192.0.2.7", 0, AF_INET, 32 },
                { "::/0", 0, AF_INET6, 0 },
                { "10.0.0.0/33", -EINVAL, 0, 0 },   { "10.1.2.3/8", -EINVAL, 0, 0 },
                { "10.0.0.0/", -EINVAL, 0, 0 },     { "10.0.0.0/-1", -EINVAL, 0, 0 },
                { "10.0.0.0/+8", -EINVAL, 0, 0 },   { "10.0.0.0/8x", -EINVAL, 0, 0 },
                { "example.com/8", -EINVAL, 0, 0 }, { "fd00::/129", -EINVAL, 0, 0 },
                { "fd00::1/8", -EINVAL, 0, 0 },     { "", -EINVAL, 0, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                NetRange r;

                ASSERT_EQ(netrange_parse(cases[i].text, &r), cases[i].r);
                if (cases[i].r == 0) {
                        ASSERT_EQ(r.family, cases[i].family);
                        ASSERT_EQ(r.prefix, cases[i].prefix);
                }
        }
}
