/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "matrix.h"
#include "tests.h"

static MatrixResponse parse(long status, const char *body) {
        MatrixResponse r;

        matrix_response_parse(status, body, body ? strlen(body) : 0, &r);
        return r;
}

TEST(rate_limited_asks_to_wait) {
        MatrixResponse r = parse(
                429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too many\",\"retry_after_ms\":2000}");

        ASSERT_STREQ(r.errcode, "M_LIMIT_EXCEEDED");
        ASSERT_STREQ(r.errmsg, "Too many");
        ASSERT_EQ(r.retry_after_ms, 2000);
        ASSERT_TRUE(matrix_response_retryable(&r));
        json_decref(r.json);
}

/* What is worth retrying (no answer, a proxy's error page, a 5xx; not a refusal nor a success), and
 * bodies of odd shapes. */
TEST(what_is_worth_retrying_and_odd_bodies) {
        static const struct {
                long status;
                const char *body;
                bool json;
                const char *errcode;
                uint64_t retry_after_ms;
                bool retryable;
        } cases[] = {
                { 502, "<html>Bad Gateway</html>", false, NULL, 0, true },
                { 403, "{\"errcode\":\"M_FORBIDDEN\"}", true, "M_FORBIDDEN", 0, false },
                { 200, "{}", true, NULL, 0, false },
                { 429, "{\"errcode\":5,\"retry_after_ms\":-3}", true, NULL, 0, true },
                { 400, "{\"a\":1,\"a\":2}", false, NULL, 0, false },
                { 200, NULL, false, NULL, 0, false },
        };
        MatrixResponse r = { .error = -ECONNREFUSED };

        ASSERT_TRUE(matrix_response_retryable(&r));
        FOREACH_ROW(i, cases, "%ld \"%s\"", cases[i].status, cases[i].body ?: "(null)") {
                r = parse(cases[i].status, cases[i].body);
                ASSERT_EQ(r.json != NULL, cases[i].json);
                ASSERT_STREQ(r.errcode, cases[i].errcode);
                ASSERT_EQ(r.retry_after_ms, cases[i].retry_after_ms);
                ASSERT_EQ(matrix_response_retryable(&r), cases[i].retryable);
                json_decref(r.json);
        }
}

TEST(a_nul_in_a_message_does_not_spoil_the_answer) {
        /* One stranger's message with "\u0000" in a /sync answer must not make the whole answer
         * unreadable: the bot would retry that sync for ever and answer no one. */
        MatrixResponse r = parse(200, "{\"next_batch\":\"s1\",\"body\":\"run price\\u0000; reboot\"}");

        ASSERT_TRUE(json_is_object(r.json));
        ASSERT_EQ(json_string_length(json_object_get(r.json, "body")), strlen("run price; reboot") + 1);
        json_decref(r.json);
}

TEST(escape) {
        _cleanup_free_ char *e = matrix_escape("!room:example.com/../x?y=1");

        ASSERT_STREQ(e, "%21room%3Aexample.com%2F..%2Fx%3Fy%3D1");
}
