/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

void ratelimit_init(RateLimiter *l, unsigned per_minute) {
        *l = (RateLimiter){
                .burst = per_minute / 2 ?: 1,
                .refill_usec = 60ULL * 1000000ULL / (per_minute ?: 1),
        };
}

static uint64_t capacity(const RateLimiter *l) {
        return (uint64_t) l->burst * l->refill_usec;
}

static RateBucket *bucket_of(RateLimiter *l, const char *sender, uint64_t now) {
        RateBucket *n;

        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->buckets[i].sender, sender) == 0)
                        return &l->buckets[i];
        /* Full: the sender quiet the longest makes room (a full bucket again, at most). */
        if (l->n >= RATE_SENDERS_MAX) {
                size_t oldest = 0;
                for (size_t i = 1; i < l->n; i++)
                        if (l->buckets[i].last < l->buckets[oldest].last)
                                oldest = i;
                free(l->buckets[oldest].sender);
                l->buckets[oldest] = l->buckets[--l->n];
        }
        n = reallocarray(l->buckets, l->n + 1, sizeof(RateBucket));
        if (!n)
                return NULL;
        l->buckets = n;
        n = &l->buckets[l->n];
        *n = (RateBucket){ .sender = strdup(sender), .tokens_usec = capacity(l), .last = now };
        if (!n->sender)
                return NULL;
        l->n++;
        return n;
}

int ratelimit_check(RateLimiter *l, const char *sender, uint64_t now, RateVerdict *ret) {
        RateBucket *b = bucket_of(l, sender, now);

        if (!b)
                return -ENOMEM;
        if (now > b->last) {
                b->tokens_usec += now - b->last;
                if (b->tokens_usec > capacity(l))
                        b->tokens_usec = capacity(l);
                b->last = now;
        }
        if (b->tokens_usec >= l->refill_usec) {
                b->tokens_usec -= l->refill_usec;
                *ret = RATE_OK;
                return 0;
        }
        if (b->noticed == 0 || now >= b->noticed + RATE_NOTICE_USEC) {
                b->noticed = now;
                *ret = RATE_NOTICE;
        } else
                *ret = RATE_DROP;
        return 0;
}

void ratelimit_done(RateLimiter *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->buckets[i].sender);
        free(l->buckets);
        l->buckets = NULL;
        l->n = 0;
}
