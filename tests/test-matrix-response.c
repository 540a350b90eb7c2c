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

TEST(what_is_worth_retrying) {
        MatrixResponse r;

        r = parse(502, "<html>Bad Gateway</html>");
        ASSERT_TRUE(r.json == NULL);
        ASSERT_TRUE(r.errcode == NULL);
        ASSERT_TRUE(matrix_response_retryable(&r));

        r = (MatrixResponse) { .error = -ECONNREFUSED };
        ASSERT_TRUE(matrix_response_retryable(&r));

        r = parse(403, "{\"errcode\":\"M_FORBIDDEN\"}");
        ASSERT_FALSE(matrix_response_retryable(&r));
        json_decref(r.json);

        r = parse(200, "{}");
        ASSERT_FALSE(matrix_response_retryable(&r));
        json_decref(r.json);
}

TEST(odd_bodies) {
        MatrixResponse r;

        r = parse(429, "{\"errcode\":5,\"retry_after_ms\":-3}");
        ASSERT_TRUE(r.errcode == NULL);
        ASSERT_EQ(r.retry_after_ms, 0);
        json_decref(r.json);
        r = parse(400, "{\"a\":1,\"a\":2}");
        ASSERT_TRUE(r.json == NULL);
        r = parse(200, NULL);
        ASSERT_TRUE(r.json == NULL);
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
