/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "ratelimit.h"
#include "tests.h"

#define SEC 1000000ULL

static RateVerdict check(RateLimiter *l, const char *sender, uint64_t now) {
        RateVerdict v = RATE_DROP;

        if (ratelimit_check(l, sender, now, &v) < 0)
                abort();
        return v;
}

TEST(a_burst_then_one_every_few_seconds) {
        RateLimiter l;
        uint64_t t = 1000 * SEC;

        ratelimit_init(&l, 20);
        ASSERT_EQ(l.burst, 10);
        ASSERT_EQ(l.refill_usec, 3 * SEC);

        for (unsigned i = 0; i < l.burst; i++)
                ASSERT_EQ(check(&l, "@bob:t", t), RATE_OK);
        /* Over the limit: told once, then silence. */
        ASSERT_EQ(check(&l, "@bob:t", t), RATE_NOTICE);
        for (unsigned i = 0; i < 1000; i++)
                ASSERT_EQ(check(&l, "@bob:t", t + i), RATE_DROP);
        /* Others are not affected. */
        ASSERT_EQ(check(&l, "@alice:t", t), RATE_OK);
        /* One more command once a refill period passed, not two. */
        ASSERT_EQ(check(&l, "@bob:t", t + l.refill_usec), RATE_OK);
        ASSERT_EQ(check(&l, "@bob:t", t + l.refill_usec), RATE_DROP);
        /* A minute on, the bucket is full again; too fast again, told again. */
        for (unsigned i = 0; i < l.burst; i++)
                ASSERT_EQ(check(&l, "@bob:t", t + RATE_NOTICE_USEC + l.refill_usec), RATE_OK);
        ASSERT_EQ(check(&l, "@bob:t", t + RATE_NOTICE_USEC + l.refill_usec), RATE_NOTICE);
        /* A quiet sender gets the full burst back, no more. */
        for (unsigned i = 0; i < l.burst; i++)
                ASSERT_EQ(check(&l, "@bob:t", t + 3600 * SEC), RATE_OK);
        ASSERT_EQ(check(&l, "@bob:t", t + 3600 * SEC), RATE_NOTICE);
        ratelimit_done(&l);
}

TEST(a_flood_of_senders_stays_bounded) {
        RateLimiter l;
        char name[32];

        ratelimit_init(&l, 1);
        ASSERT_EQ(l.burst, 1);

        for (unsigned i = 0; i < RATE_SENDERS_MAX + 100; i++) {
                snprintf(name, sizeof(name), "@u%u:t", i);
                ASSERT_EQ(check(&l, name, i), RATE_OK);
        }
        ASSERT_EQ(l.n, RATE_SENDERS_MAX);
        ratelimit_done(&l);
}
