/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A DNS server's answer: the first byte picks the question (A, AAAA or CNAME of a host, SRV of the
 * federation name), the rest is the packet, read as the answer to that question with its own id. */

#include "dns.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct {
                const char *name;
                uint16_t type;
        } questions[] = {
                { "matrix.acme.test", DNS_TYPE_A },
                { "matrix.acme.test", DNS_TYPE_AAAA },
                { "social.acme.test", DNS_TYPE_CNAME },
                { "_matrix-fed._tcp.acme.test", DNS_TYPE_SRV },
        };
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        const char *why;
        uint16_t id;

        if (size < 3)
                return 0;
        id = (uint16_t) (data[1] << 8 | data[2]);
        (void) dns_answer_parse(data + 1, size - 1, id, questions[data[0] % ELEMENTSOF(questions)].name,
                                questions[data[0] % ELEMENTSOF(questions)].type, &a, &why);
        (void) dns_rcode_to_string(a.rcode);
        return 0;
}
