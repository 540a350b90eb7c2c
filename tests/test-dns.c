/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "dns.h"
#include "tests.h"

/* Builds answers the way a server would: the query, flags set, then records appended. */
typedef struct Packet {
        uint8_t b[DNS_PACKET_MAX];
        size_t n;
} Packet;

static void answer_start(Packet *p, const char *name, uint16_t type, uint16_t id, uint8_t rcode) {
        if (dns_query_build(name, type, id, p->b, sizeof(p->b), &p->n) < 0)
                abort();
        p->b[2] |= 0x80; /* QR */
        p->b[3] = (uint8_t) (p->b[3] | rcode);
}

static void put(Packet *p, const void *data, size_t n) {
        memcpy(p->b + p->n, data, n);
        p->n += n;
}

static void put16(Packet *p, uint16_t v) {
        uint8_t b[2] = { (uint8_t) (v >> 8), (uint8_t) v };
        put(p, b, 2);
}

static void put_name(Packet *p, const char *name) {
        for (const char *l = name; *l;) {
                size_t len = strcspn(l, ".");
                uint8_t n = (uint8_t) len;
                put(p, &n, 1);
                put(p, l, len);
                l += len + (l[len] == '.');
        }
        put(p, "", 1);
}

/* A record whose owner is the question's name, by a compression pointer to offset 12. */
static void record(Packet *p, const char *owner, uint16_t type, const void *rdata, uint16_t rdlength) {
        if (owner)
                put_name(p, owner);
        else
                put16(p, 0xC00C);
        put16(p, type);
        put16(p, 1);
        put16(p, 0);
        put16(p, 300);
        put16(p, rdlength);
        put(p, rdata, rdlength);
        p->b[7]++; /* ANCOUNT */
}

static void record_name(Packet *p, const char *owner, uint16_t type, const char *target) {
        Packet r = {};
        put_name(&r, target);
        record(p, owner, type, r.b, (uint16_t) r.n);
}

TEST(query) {
        uint8_t b[512];
        size_t n;

        ASSERT_OK(dns_query_build("matrix.acme.test.", DNS_TYPE_AAAA, 0x1234, b, sizeof(b), &n));
        ASSERT_EQ(n, 12 + 18 + 4);
        ASSERT_EQ(b[0], 0x12);
        ASSERT_EQ(b[2], 0x01); /* RD */
        ASSERT_EQ(b[5], 1);    /* QDCOUNT */
        ASSERT_EQ(b[12], 6);
        ASSERT_TRUE(memcmp(b + 13, "matrix", 6) == 0);
        ASSERT_EQ(b[n - 3], 28);
        static const char *const bad[] = {
                "",         ".",
                "a..b",     "bad name.test",
                "x;y.test", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test"
        };
        FOREACH_ROW(i, bad, "\"%s\"", bad[i])
                ASSERT_EQ(dns_query_build(bad[i], DNS_TYPE_A, 1, b, sizeof(b), &n), -EINVAL);
        ASSERT_EQ(dns_query_build("matrix.acme.test", DNS_TYPE_A, 1, b, 20, &n), -EINVAL);
}

TEST(addresses_through_a_cname_chain) {
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        const char *why;
        Packet p;

        answer_start(&p, "Social.Globex.test", DNS_TYPE_A, 7, 0);
        /* Out of order on purpose: the chain is followed whatever the order. */
        record(&p, "elsewhere.globex.test", DNS_TYPE_A, (uint8_t[]){ 127, 0, 0, 98 }, 4);
        record_name(&p, "hop.globex.test", DNS_TYPE_CNAME, "elsewhere.globex.test");
        record_name(&p, NULL, DNS_TYPE_CNAME, "hop.globex.test");
        record(&p, "elsewhere.globex.test", DNS_TYPE_A, (uint8_t[]){ 127, 0, 0, 99 }, 4);
        record(&p, "unrelated.test", DNS_TYPE_A, (uint8_t[]){ 10, 0, 0, 1 }, 4);

        ASSERT_OK(dns_answer_parse(p.b, p.n, 7, "social.globex.test", DNS_TYPE_A, &a, &why));
        ASSERT_EQ(a.rcode, 0);
        ASSERT_STREQ(a.canonical, "elsewhere.globex.test");
        ASSERT_EQ(strv_length(a.cnames), 2);
        ASSERT_STREQ(a.cnames[0], "hop.globex.test");
        ASSERT_EQ(strv_length(a.addresses), 2);
        ASSERT_STREQ(a.addresses[0], "127.0.0.98");
        ASSERT_STREQ(a.addresses[1], "127.0.0.99");
}

TEST(aaaa_nxdomain_and_srv) {
        uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
        DnsAnswer a = {};
        const char *why;
        Packet p;

        answer_start(&p, "matrix.acme.test", DNS_TYPE_AAAA, 9, 0);
        record(&p, NULL, DNS_TYPE_AAAA, v6, 16);
        ASSERT_OK(dns_answer_parse(p.b, p.n, 9, "matrix.acme.test", DNS_TYPE_AAAA, &a, &why));
        ASSERT_STREQ(a.addresses[0], "2001:db8::1");
        ASSERT_TRUE(!a.cnames);
        dns_answer_done(&a);

        answer_start(&p, "nothing.acme.test", DNS_TYPE_A, 10, DNS_RCODE_NXDOMAIN);
        ASSERT_OK(dns_answer_parse(p.b, p.n, 10, "nothing.acme.test", DNS_TYPE_A, &a, &why));
        ASSERT_EQ(a.rcode, DNS_RCODE_NXDOMAIN);
        ASSERT_TRUE(!a.addresses);
        ASSERT_STREQ(dns_rcode_to_string(a.rcode), "no such name (NXDOMAIN)");
        dns_answer_done(&a);

        Packet rdata = {};
        put16(&rdata, 10);
        put16(&rdata, 5);
        put16(&rdata, 8448);
        put_name(&rdata, "matrix.globex.test");
        answer_start(&p, "_matrix-fed._tcp.globex.test", DNS_TYPE_SRV, 11, 0);
        record(&p, NULL, DNS_TYPE_SRV, rdata.b, (uint16_t) rdata.n);
        ASSERT_OK(dns_answer_parse(p.b, p.n, 11, "_matrix-fed._tcp.globex.test", DNS_TYPE_SRV, &a, &why));
        ASSERT_EQ(a.n_srv, 1);
        ASSERT_EQ(a.srv[0].priority, 10);
        ASSERT_EQ(a.srv[0].port, 8448);
        ASSERT_STREQ(a.srv[0].target, "matrix.globex.test");
        dns_answer_done(&a);
}

static int parse(const Packet *p, const char **why) {
        DnsAnswer a = {};
        int r = dns_answer_parse(p->b, p->n, 5, "acme.test", DNS_TYPE_A, &a, why);
        dns_answer_done(&a);
        return r;
}

TEST(malformed_answers) {
        const char *why;
        Packet p;

        answer_start(&p, "acme.test", DNS_TYPE_A, 6, 0);
        ASSERT_EQ(parse(&p, &why), -EBADMSG);
        ASSERT_STREQ(why, "not the answer to our question");

        answer_start(&p, "other.test", DNS_TYPE_A, 5, 0);
        ASSERT_EQ(parse(&p, &why), -EBADMSG);
        ASSERT_STREQ(why, "the answer is to another question");

        answer_start(&p, "acme.test", DNS_TYPE_A, 5, 0);
        p.b[2] |= 0x02; /* TC */
        ASSERT_EQ(parse(&p, &why), -EMSGSIZE);

        /* An A record of five bytes. */
        answer_start(&p, "acme.test", DNS_TYPE_A, 5, 0);
        record(&p, NULL, DNS_TYPE_A, "\1\2\3\4\5", 5);
        ASSERT_EQ(parse(&p, &why), -EBADMSG);

        /* A record running past the end. */
        answer_start(&p, "acme.test", DNS_TYPE_A, 5, 0);
        record(&p, NULL, DNS_TYPE_A, "\1\2\3\4", 4);
        p.n -= 2;
        ASSERT_EQ(parse(&p, &why), -EBADMSG);

        /* A compression pointer to itself, and one pointing forwards: no loop, no overread. */
        answer_start(&p, "acme.test", DNS_TYPE_A, 5, 0);
        size_t at = p.n;
        put16(&p, (uint16_t) (0xC000 | at));
        p.b[7] = 1;
        ASSERT_EQ(parse(&p, &why), -EBADMSG);
        p.n = at;
        put16(&p, 0xC000 | 0x3FFF);
        ASSERT_EQ(parse(&p, &why), -EBADMSG);

        /* Shorter than a header, and every truncation of a good answer. */
        ASSERT_EQ(parse(&(Packet){ .n = 5 }, &why), -EBADMSG);
        answer_start(&p, "acme.test", DNS_TYPE_A, 5, 0);
        record(&p, NULL, DNS_TYPE_A, "\1\2\3\4", 4);
        ASSERT_OK(parse(&p, &why));
        for (size_t n = p.n - 1; n > 0; n--) {
                Packet q = p;
                q.n = n;
                ASSERT_TRUE(parse(&q, &why) < 0);
        }
}
