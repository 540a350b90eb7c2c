/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* How many commands one sender may give: a token bucket per sender (half a minute's worth at once,
 * then one every 60 s / per_minute). Over the limit, the first refused message of a minute gets a
 * polite word, the rest nothing. Pure: the caller passes the clock. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATE_NOTICE_USEC (60ULL * 1000000ULL)
#define RATE_SENDERS_MAX 4096U

typedef enum RateVerdict {
        RATE_OK,     /* take the command */
        RATE_NOTICE, /* refuse it, and say so */
        RATE_DROP,   /* refuse it silently: we said so less than a minute ago */
} RateVerdict;

typedef struct RateBucket {
        char *sender;
        uint64_t tokens_usec; /* tokens, in refill time: refill_usec per command */
        uint64_t last;        /* when tokens_usec was computed */
        uint64_t noticed;     /* when the sender was last told; 0: never */
} RateBucket;

typedef struct RateLimiter {
        RateBucket *buckets;
        size_t n;
        unsigned burst;       /* commands at once */
        uint64_t refill_usec; /* then one each this long */
} RateLimiter;

void ratelimit_init(RateLimiter *l, unsigned per_minute);

/* -ENOMEM only; *ret the verdict for one command from sender at now (a monotonic clock). */
int ratelimit_check(RateLimiter *l, const char *sender, uint64_t now, RateVerdict *ret);
void ratelimit_done(RateLimiter *l);
