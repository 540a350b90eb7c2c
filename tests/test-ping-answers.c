/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "ping-answers.h"
#include "tests.h"

static char *versions(long status, const char *body) {
        char *why = NULL;
        return answer_client_versions(status, body, strlen(body), &why) == 0 ? NULL : why;
}

TEST(client_versions) {
        static const struct {
                long status;
                const char *body, *why;
        } cases[] = {
                { 200, "{\"versions\": [\"v1.1\", \"v1.11\"]}", NULL },
                { 200, "<html><body>It works</body></html>", "not JSON ('[' or '{' expected near '<')" },
                { 502, "", "HTTP 502" },
                { 200, "{\"versions\": []}", "no \"versions\" list in the answer" },
                { 200, "{\"versions\": [1]}", "\"versions\" holds something other than strings" },
        };

        FOREACH_ROW(i, cases, "%ld \"%s\"", cases[i].status, cases[i].body) {
                _cleanup_free_ char *why = versions(cases[i].status, cases[i].body);

                ASSERT_STREQ(why, cases[i].why);
        }
}

TEST(federation_version) {
        char *why = NULL;
        const char good[] = "{\"server\": {\"name\": \"Synapse\", \"version\": \"1.99\"}}";

        ASSERT_OK(answer_federation_version(200, good, strlen(good), &why));
        ASSERT_EQ(answer_federation_version(200, "[]", 2, &why), -EBADMSG);
        ASSERT_STREQ(why, "not a JSON object");
        free(why);
}

TEST(wellknown_server) {
        char *why = NULL, *delegated = NULL;
        const char good[] = "{\"m.server\": \"matrix.acme.test:443\"}";
        const char wrong[] = "{\"m.server\": \"matrix.example.org\"}";
        const char junk[] = "{\"m.server\": \"a b;c\"}";

        ASSERT_OK(answer_wellknown_server(200, good, strlen(good), "matrix.acme.test", &delegated, &why));
        ASSERT_STREQ(delegated, "matrix.acme.test:443");
        free(delegated);
        ASSERT_EQ(answer_wellknown_server(200, wrong, strlen(wrong), "matrix.acme.test", &delegated, &why),
                  -EBADMSG);
        ASSERT_STREQ(why, "points at matrix.example.org, not at matrix.acme.test");
        /* Still where federation goes: the federation check follows it. */
        ASSERT_STREQ(delegated, "matrix.example.org");
        free(delegated);
        free(why);
        ASSERT_EQ(answer_wellknown_server(200, junk, strlen(junk), "matrix.acme.test", &delegated, &why),
                  -EBADMSG);
        ASSERT_CONTAINS(why, "is not a server name");
        ASSERT_TRUE(!delegated);
        free(why);
        ASSERT_EQ(answer_wellknown_server(404, "<html>", 6, "matrix.acme.test", NULL, &why), -EBADMSG);
        ASSERT_STREQ(why, "HTTP 404");
        free(why);
}

TEST(wellknown_client) {
        char *why = NULL;
        static const char *const good[] = { "https://matrix.acme.test", "https://matrix.acme.test/",
                                            "https://MATRIX.acme.test:443" };
        FOREACH_ROW(i, good, "\"%s\"", good[i]) {
                _cleanup_free_ char *body = NULL;
                ASSERT_TRUE(asprintf(&body, "{\"m.homeserver\": {\"base_url\": \"%s\"}}", good[i]) > 0);
                ASSERT_OK(answer_wellknown_client(200, body, strlen(body), "matrix.acme.test", &why));
        }
        const char wrong[] = "{\"m.homeserver\": {\"base_url\": \"https://matrix.acme.test.evil\"}}";
        ASSERT_EQ(answer_wellknown_client(200, wrong, strlen(wrong), "matrix.acme.test", &why), -EBADMSG);
        ASSERT_STREQ(why, "points at https://matrix.acme.test.evil, not at https://matrix.acme.test");
        free(why);
}

TEST(server_keys) {
        char *why = NULL;
        const char good[] = "{\"server_name\": \"acme.test\", \"valid_until_ts\": 2000,"
                            " \"verify_keys\": {\"ed25519:a\": {\"key\": \"x\"}}}";
        const char other[] = "{\"server_name\": \"evil.test\", \"valid_until_ts\": 2000}";

        ASSERT_OK(answer_server_keys(200, good, strlen(good), "acme.test", 1000, &why));
        ASSERT_EQ(answer_server_keys(200, good, strlen(good), "acme.test", 3000, &why), -EBADMSG);
        ASSERT_STREQ(why, "the keys expired (valid_until_ts is in the past)");
        free(why);
        ASSERT_EQ(answer_server_keys(200, other, strlen(other), "acme.test", 1000, &why), -EBADMSG);
        ASSERT_STREQ(why, "the keys are for evil.test, not for acme.test");
        free(why);
        ASSERT_EQ(answer_server_keys(200, "\xff\xfe", 2, "acme.test", 1000, &why), -EBADMSG);
        ASSERT_CONTAINS(why, "not JSON");
        free(why);
}

TEST(server_names) {
        static const struct {
                const char *name;
                int r;
                const char *host;
                unsigned port;
        } cases[] = {
                { "matrix.acme.test", 0, "matrix.acme.test", 0 },
                { "matrix.acme.test:8448", 0, "matrix.acme.test", 8448 },
                { "[2001:db8::1]:443", 0, "2001:db8::1", 443 },
                { "", -EINVAL, NULL, 0 },
                { "a b", -EINVAL, NULL, 0 },
                { "host:0", -EINVAL, NULL, 0 },
                { "host:99999", -EINVAL, NULL, 0 },
                { "[::1", -EINVAL, NULL, 0 },
                { "[nonsense]:1", -EINVAL, NULL, 0 },
                { "h:1:2", -EINVAL, NULL, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].name) {
                _cleanup_free_ char *h = NULL;
                unsigned port;

                ASSERT_EQ(server_name_split(cases[i].name, &h, &port), cases[i].r);
                if (cases[i].r < 0)
                        continue;
                ASSERT_STREQ(h, cases[i].host);
                ASSERT_EQ(port, cases[i].port);
        }
}

TEST(dns_records) {
        static char *expected[] = { "127.9.9.2", NULL };
        static char *good[] = { "127.9.9.2", NULL }, *wrong[] = { "127.0.0.98", "127.0.0.99", NULL };
        static char *cnames[] = { "elsewhere.globex.test", NULL }, *none[] = { NULL };
        static const struct {
                char **addresses, **cnames;
                const char *why;
        } cases[] = {
                { good, NULL, NULL },
                { good, cnames, NULL },
                { wrong, cnames, "invalid CNAME record to elsewhere.globex.test (expected: 127.9.9.2, "
                                 "actual: 127.0.0.98, 127.0.0.99)" },
                { wrong, NULL, "invalid A record (expected: 127.9.9.2, actual: 127.0.0.98, 127.0.0.99)" },
                { none, NULL, "no A or AAAA record (expected: 127.9.9.2)" },
        };

        FOREACH_ROW(i, cases, "%s%s", strv_length(cases[i].addresses) ? cases[i].addresses[0] : "no address",
                    cases[i].cnames ? " by CNAME" : "") {
                _cleanup_free_ char *why = NULL;

                ASSERT_EQ(answer_dns_record(cases[i].addresses, cases[i].cnames, expected, &why),
                          cases[i].why ? -EBADMSG : 0);
                ASSERT_STREQ(why, cases[i].why);
        }
}

TEST(certificates) {
        char *text = NULL;
        const int64_t day = 24 * 3600, now = 1795000000;

        ASSERT_OK(answer_cert_expiry(now + 80 * day + 5, now, 14, &text));
        ASSERT_STREQ(text, "valid for 80 more days");
        free(text);
        ASSERT_EQ(answer_cert_expiry(now + 4 * day + 5, now, 14, &text), -EBADMSG);
        ASSERT_STREQ(text, "expires in 4 days (2026-11-22): renew it");
        free(text);
        ASSERT_EQ(answer_cert_expiry(now - 5, now, 14, &text), -EBADMSG);
        ASSERT_CONTAINS(text, "expired on ");
        free(text);
}
