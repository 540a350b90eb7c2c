/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <arpa/inet.h>
#include <ctype.h>
#include <strings.h>

#include "dns.h"
#include "util.h"

#define HEADER_SIZE 12
#define CLASS_IN 1
#define FLAG_QR 0x8000U
#define FLAG_TC 0x0200U
#define FLAG_RD 0x0100U
#define NAME_MAX_TEXT 253
#define POINTERS_MAX 64
#define CHAIN_MAX 8

static uint16_t get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

int dns_query_build(const char *name, uint16_t type, uint16_t id, uint8_t *buf, size_t size,
                    size_t *ret_len) {
        size_t n = strlen(name), at = HEADER_SIZE;

        if (n > 0 && name[n - 1] == '.')
                n--;
        if (n == 0 || n > NAME_MAX_TEXT || size < HEADER_SIZE + n + 2 + 4)
                return -EINVAL;
        memset(buf, 0, HEADER_SIZE);
        put16(buf, id);
        put16(buf + 2, FLAG_RD);
        put16(buf + 4, 1);
        for (const char *label = name; label < name + n;) {
                const char *dot = memchr(label, '.', (size_t) (name + n - label));
                size_t len = (size_t) ((dot ?: name + n) - label);

                if (len == 0 || len > 63)
                        return -EINVAL;
                for (size_t i = 0; i < len; i++)
                        if (!isalnum((unsigned char) label[i]) && label[i] != '-' && label[i] != '_')
                                return -EINVAL;
                buf[at++] = (uint8_t) len;
                memcpy(buf + at, label, len);
                at += len;
                label += len + 1;
        }
        buf[at++] = 0;
        put16(buf + at, type);
        put16(buf + at + 2, CLASS_IN);
        *ret_len = at + 4;
        return 0;
}

/* Reads the (possibly compressed) name at *offset into text, lower-case, no trailing dot, and
 * moves *offset past it. Pointers may only point backwards, and only so many. */
static int read_name(const uint8_t *buf, size_t len, size_t *offset, char text[static NAME_MAX_TEXT + 2]) {
        size_t at = *offset, out = 0, end = 0;
        unsigned pointers = 0;

        for (;;) {
                if (at >= len)
                        return -EBADMSG;
                uint8_t l = buf[at];
                if ((l & 0xC0) == 0xC0) {
                        if (at + 1 >= len || ++pointers > POINTERS_MAX)
                                return -EBADMSG;
                        size_t target = (size_t) (l & 0x3F) << 8 | buf[at + 1];
                        if (end == 0)
                                end = at + 2;
                        if (target >= at)
                                return -EBADMSG;
                        at = target;
                        continue;
                }
                if (l & 0xC0)
                        return -EBADMSG;
                if (l == 0) {
                        if (end == 0)
                                end = at + 1;
                        break;
                }
                if (at + 1 + l > len || out + l + 1 > NAME_MAX_TEXT + 1)
                        return -EBADMSG;
                if (out > 0)
                        text[out++] = '.';
                for (size_t i = 0; i < l; i++) {
                        unsigned char c = buf[at + 1 + i];
                        if (c <= ' ' || c >= 0x7F)
                                return -EBADMSG;
                        text[out++] = (char) tolower(c);
                }
                at += 1 + l;
        }
        text[out] = 0;
        *offset = end;
        return 0;
}

typedef struct Record {
        char owner[NAME_MAX_TEXT + 2];
        uint16_t type;
        const uint8_t *rdata;
        size_t rdata_offset;
        uint16_t rdlength;
} Record;

static int read_record(const uint8_t *buf, size_t len, size_t *offset, Record *r) {
        if (read_name(buf, len, offset, r->owner) < 0 || *offset + 10 > len)
                return -EBADMSG;
        r->type = get16(buf + *offset);
        r->rdlength = get16(buf + *offset + 8);
        r->rdata_offset = *offset + 10;
        r->rdata = buf + r->rdata_offset;
        if (r->rdata_offset + r->rdlength > len)
                return -EBADMSG;
        *offset = r->rdata_offset + r->rdlength;
        return 0;
}

static bool name_equal(const char *a, const char *b) {
        size_t na = strlen(a), nb = strlen(b);

        na -= na > 0 && a[na - 1] == '.';
        nb -= nb > 0 && b[nb - 1] == '.';
        return na == nb && strncasecmp(a, b, na) == 0;
}

/* Where the records follow the question, after checking it is ours. */
static int read_header(const uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t type,
                       size_t *ret_offset, const char **ret_why) {
        char qname[NAME_MAX_TEXT + 2];
        size_t at = HEADER_SIZE;
        uint16_t flags;

        if (len < HEADER_SIZE)
                return *ret_why = "shorter than a DNS header", -EBADMSG;
        flags = get16(buf + 2);
        if (get16(buf) != id || !(flags & FLAG_QR))
                return *ret_why = "not the answer to our question", -EBADMSG;
        if (flags & FLAG_TC)
                return *ret_why = "the answer was truncated", -EMSGSIZE;
        if (get16(buf + 4) != 1)
                return *ret_why = "not exactly one question in the answer", -EBADMSG;
        if (read_name(buf, len, &at, qname) < 0 || at + 4 > len)
                return *ret_why = "malformed question", -EBADMSG;
        if (!name_equal(qname, name) || get16(buf + at) != type || get16(buf + at + 2) != CLASS_IN)
                return *ret_why = "the answer is to another question", -EBADMSG;
        *ret_offset = at + 4;
        return 0;
}

static int add_address(DnsAnswer *a, const Record *r) {
        char text[INET6_ADDRSTRLEN];
        int family = r->type == DNS_TYPE_A ? AF_INET : AF_INET6;

        if (r->rdlength != (r->type == DNS_TYPE_A ? 4 : 16))
                return -EBADMSG;
        if (!inet_ntop(family, r->rdata, text, sizeof(text)))
                return -EBADMSG;
        return strv_contains(a->addresses, text) ? 0 : strv_extend(&a->addresses, text);
}

static int add_srv(DnsAnswer *a, const uint8_t *buf, size_t len, const Record *r) {
        char target[NAME_MAX_TEXT + 2];
        size_t at = r->rdata_offset + 6;
        DnsSrv *n;

        if (r->rdlength < 7 || read_name(buf, len, &at, target) < 0 || at != r->rdata_offset + r->rdlength)
                return -EBADMSG;
        n = reallocarray(a->srv, a->n_srv + 1, sizeof(DnsSrv));
        if (!n)
                return -ENOMEM;
        a->srv = n;
        n[a->n_srv] = (DnsSrv){ get16(r->rdata), get16(r->rdata + 2), get16(r->rdata + 4), strdup(target) };
        if (!n[a->n_srv].target)
                return -ENOMEM;
        a->n_srv++;
        return 0;
}

int dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t type,
                     DnsAnswer *ret, const char **ret_why) {
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        char canonical[NAME_MAX_TEXT + 2];
        size_t start, at;
        unsigned ancount;
        int r;

        *ret_why = NULL;
        r = read_header(buf, len, id, name, type, &start, ret_why);
        if (r < 0)
                return r;
        a.rcode = buf[3] & 0x0F;
        ancount = get16(buf + 6);
        snprintf(canonical, sizeof(canonical), "%s", name);
        for (char *c = canonical; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        if (endswith(canonical, "."))
                canonical[strlen(canonical) - 1] = 0;

        /* Follow the CNAME chain through the answer section, however the server ordered it. */
        for (unsigned hops = 0; hops < CHAIN_MAX; hops++) {
                bool moved = false;
                at = start;
                for (unsigned i = 0; i < ancount; i++) {
                        Record rec;
                        char target[NAME_MAX_TEXT + 2];
                        size_t t;

                        if (read_record(buf, len, &at, &rec) < 0)
                                return *ret_why = "malformed answer record", -EBADMSG;
                        if (rec.type != DNS_TYPE_CNAME || !name_equal(rec.owner, canonical))
                                continue;
                        t = rec.rdata_offset;
                        if (read_name(buf, len, &t, target) < 0 || t != rec.rdata_offset + rec.rdlength)
                                return *ret_why = "malformed CNAME record", -EBADMSG;
                        if (strv_extend(&a.cnames, target) < 0)
                                return -ENOMEM;
                        memcpy(canonical, target, sizeof(canonical));
                        moved = true;
                        break;
                }
                if (!moved)
                        break;
        }
        a.canonical = strdup(canonical);
        if (!a.canonical)
                return -ENOMEM;

        at = start;
        for (unsigned i = 0; i < ancount; i++) {
                Record rec;

                if (read_record(buf, len, &at, &rec) < 0)
                        return *ret_why = "malformed answer record", -EBADMSG;
                if (!name_equal(rec.owner, canonical) &&
                    !(rec.type == DNS_TYPE_SRV && name_equal(rec.owner, name)))
                        continue;
                if (rec.type == type && (type == DNS_TYPE_A || type == DNS_TYPE_AAAA))
                        r = add_address(&a, &rec);
                else if (rec.type == DNS_TYPE_SRV && type == DNS_TYPE_SRV)
                        r = add_srv(&a, buf, len, &rec);
                else
                        r = 0;
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return *ret_why = "malformed address or SRV record", -EBADMSG;
        }
        *ret = a;
        a = (DnsAnswer){};
        return 0;
}

void dns_answer_done(DnsAnswer *a) {
        free(a->canonical);
        strv_free(a->cnames);
        strv_free(a->addresses);
        for (size_t i = 0; i < a->n_srv; i++)
                free(a->srv[i].target);
        free(a->srv);
        *a = (DnsAnswer){};
}

const char *dns_rcode_to_string(int rcode) {
        static const char *const names[] = {
                [0] = "no error",        [1] = "format error",
                [2] = "server failure",  [3] = "no such name (NXDOMAIN)",
                [4] = "not implemented", [5] = "refused",
        };
        return rcode >= 0 && (size_t) rcode < ELEMENTSOF(names) ? names[rcode] : "error";
}
