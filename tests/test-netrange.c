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

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *why = netrange_refused(cases[i].address, NULL, 0);
                if (!cases[i].why)
                        ASSERT_TRUE(why == NULL);
                else
                        ASSERT_STREQ(why, cases[i].why);
        }
}

TEST(the_operator_may_allow_networks) {
        NetRange allowed[2];

        ASSERT_OK(netrange_parse("127.0.0.0/8", &allowed[0]));
        ASSERT_OK(netrange_parse("fd00:1::/32", &allowed[1]));
        ASSERT_TRUE(netrange_refused("127.5.6.7", allowed, 2) == NULL);
        ASSERT_TRUE(netrange_refused("::ffff:127.5.6.7", allowed, 2) == NULL);
        ASSERT_TRUE(netrange_refused("fd00:1:ffff::1", allowed, 2) == NULL);
        ASSERT_STREQ(netrange_refused("fd00:2::1", allowed, 2), "private");
        ASSERT_STREQ(netrange_refused("10.0.0.1", allowed, 2), "private");
        ASSERT_STREQ(netrange_refused("::1", allowed, 2), "loopback");
}

TEST(networks_parse_strictly) {
        static const char *const bad[] = { "10.0.0.0/33", "10.1.2.3/8", "10.0.0.0/", "10.0.0.0/-1",
                                           "10.0.0.0/+8", "10.0.0.0/8x", "example.com/8", "fd00::/129",
                                           "fd00::1/8", "" };
        NetRange r;

        ASSERT_OK(netrange_parse("10.0.0.0/8", &r));
        ASSERT_EQ(r.family, AF_INET);
        ASSERT_EQ(r.prefix, 8U);
        ASSERT_OK(netrange_parse("192.0.2.7", &r));
        ASSERT_EQ(r.prefix, 32U);
        ASSERT_OK(netrange_parse("::/0", &r));
        ASSERT_EQ(r.family, AF_INET6);
        ASSERT_EQ(r.prefix, 0U);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(netrange_parse(bad[i], &r), -EINVAL);
}
