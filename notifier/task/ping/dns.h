/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* DNS messages as ping's checks need them (RFC 1035, AAAA from RFC 3596, SRV from RFC 2782): one
 * question out, the answer section back, read with every bound checked. Pure: the network part is
 * in dns.h. */

#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33

#define DNS_RCODE_NXDOMAIN 3

/* A UDP answer without EDNS0 is at most 512 bytes; leave room for servers that send more. */
#define DNS_PACKET_MAX 4096

typedef struct DnsSrv {
        uint16_t priority;
        uint16_t weight;
        uint16_t port;
        char *target;
} DnsSrv;

typedef struct DnsAnswer {
        int rcode;              /* 0 NOERROR, 3 NXDOMAIN, … */
        char *canonical;        /* the end of the CNAME chain from the question's name */
        char **cnames;          /* the chain's targets in order; NULL when the name is no alias */
        char **addresses;       /* A/AAAA of the canonical name, as text ("192.0.2.1", "2001:db8::1") */
        DnsSrv *srv;            /* SRV records of the question's name, in the order received */
        size_t n_srv;
} DnsAnswer;

/* "matrix.example.com" → a standard query with recursion desired. -EINVAL: not a host name. */
int dns_query_build(const char *name, uint16_t type, uint16_t id, uint8_t *buf, size_t size, size_t *ret_len);

/* Reads the answer to (id, name, type). -EBADMSG with *ret_why for anything malformed or not
 * the answer to that question; a truncated answer (TC) is -EMSGSIZE. */
int dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t type,
                     DnsAnswer *ret, const char **ret_why);
void dns_answer_done(DnsAnswer *a);

const char *dns_rcode_to_string(int rcode);
