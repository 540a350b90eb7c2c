/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "ping-answers.h"
#include "util.h"

static int bad(char **ret_why, const char *format, ...) _printf_(2, 3);
static int bad(char **ret_why, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_why, format, ap) < 0)
                *ret_why = NULL;
        va_end(ap);
        return -EBADMSG;
}

/* The body as a JSON object, or why not: the status first, then what the parser choked on. */
static json_t *load_object(long status, const char *body, size_t size, char **ret_why) {
        json_error_t e;
        json_t *j;

        if (status != 200) {
                bad(ret_why, "HTTP %ld", status);
                return NULL;
        }
        j = json_loadb(body, size, JSON_REJECT_DUPLICATES, &e);
        if (!j) {
                bad(ret_why, "not JSON (%s)", e.text);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                bad(ret_why, "not a JSON object");
                return NULL;
        }
        return j;
}

int answer_client_versions(long status, const char *body, size_t size, char **ret_why) {
        json_t *j = load_object(status, body, size, ret_why), *v;
        json_t *s;
        size_t i;
        int r = 0;

        if (!j)
                return -EBADMSG;
        v = json_object_get(j, "versions");
        if (!json_is_array(v) || json_array_size(v) == 0)
                r = bad(ret_why, "no \"versions\" list in the answer");
        json_array_foreach(v, i, s) if (r == 0 && !json_is_string(s)) r =
                bad(ret_why, "\"versions\" holds something other than strings");
        json_decref(j);
        return r;
}

int answer_federation_version(long status, const char *body, size_t size, char **ret_why) {
        json_t *j = load_object(status, body, size, ret_why), *server;
        int r = 0;

        if (!j)
                return -EBADMSG;
        server = json_object_get(j, "server");
        if (!json_is_object(server) || !json_is_string(json_object_get(server, "name")))
                r = bad(ret_why, "no \"server\" with a \"name\" in the answer");
        json_decref(j);
        return r;
}

int server_name_split(const char *s, char **ret_host, unsigned *ret_port) {
        const char *colon, *end;
        unsigned port = 0;
        char *host;

        if (isempty(s) || strlen(s) > 255)
                return -EINVAL;
        if (s[0] == '[') {
                end = strchr(s, ']');
                colon = end && end[1] == ':' ? end + 1 : NULL;
                if (!end || (end[1] && !colon))
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (end - s - 1));
                if (host && !ip_address_valid(host)) {
                        free(host);
                        return -EINVAL;
                }
        } else {
                colon = strchr(s, ':');
                host = strndup(s, colon ? (size_t) (colon - s) : strlen(s));
                if (host && !hostname_valid(host)) {
                        free(host);
                        return -EINVAL;
                }
        }
        if (!host)
                return -ENOMEM;
        if (colon && (safe_atou(colon + 1, &port) < 0 || port == 0 || port > 65535)) {
                free(host);
                return -EINVAL;
        }
        *ret_host = host;
        *ret_port = port;
        return 0;
}

int answer_wellknown_server(long status, const char *body, size_t size, const char *homeserver_host,
                            char **ret_delegated, char **ret_why) {
        json_t *j = load_object(status, body, size, ret_why);
        _cleanup_free_ char *host = NULL;
        const char *server;
        unsigned port;
        int r = 0;

        if (ret_delegated)
                *ret_delegated = NULL;
        if (!j)
                return -EBADMSG;
        server = json_string_value(json_object_get(j, "m.server"));
        if (!server)
                r = bad(ret_why, "no \"m.server\" in the answer");
        else if (server_name_split(server, &host, &port) < 0)
                r = bad(ret_why, "\"m.server\" is not a server name: %.80s", server);
        else {
                if (ret_delegated) {
                        *ret_delegated = strdup(server);
                        if (!*ret_delegated)
                                r = -ENOMEM;
                }
                if (r == 0 && strcasecmp(host, homeserver_host) != 0)
                        r = bad(ret_why, "points at %s, not at %s", server, homeserver_host);
        }
        json_decref(j);
        return r;
}

int answer_wellknown_client(long status, const char *body, size_t size, const char *homeserver_host,
                            char **ret_why) {
        json_t *j = load_object(status, body, size, ret_why);
        const char *url, *rest;
        size_t n = strlen(homeserver_host);
        int r = 0;

        if (!j)
                return -EBADMSG;
        url = json_string_value(json_object_get(json_object_get(j, "m.homeserver"), "base_url"));
        rest = url ? startswith(url, "https://") : NULL;
        /* https://HOST, maybe with :443 or a trailing slash. */
        if (!url)
                r = bad(ret_why, "no \"m.homeserver\" \"base_url\" in the answer");
        else if (!rest || strncasecmp(rest, homeserver_host, n) != 0 ||
                 !(streq(rest + n, "") || streq(rest + n, "/") || streq(rest + n, ":443") ||
                   streq(rest + n, ":443/")))
                r = bad(ret_why, "points at %.100s, not at https://%s", url, homeserver_host);
        json_decref(j);
        return r;
}

int answer_server_keys(long status, const char *body, size_t size, const char *server_name, int64_t now_ms,
                       char **ret_why) {
        json_t *j = load_object(status, body, size, ret_why), *until, *keys;
        const char *name;
        int r = 0;

        if (!j)
                return -EBADMSG;
        name = json_string_value(json_object_get(j, "server_name"));
        until = json_object_get(j, "valid_until_ts");
        keys = json_object_get(j, "verify_keys");
        if (!name)
                r = bad(ret_why, "no \"server_name\" in the keys");
        else if (strcasecmp(name, server_name) != 0)
                r = bad(ret_why, "the keys are for %.100s, not for %s", name, server_name);
        else if (!json_is_integer(until))
                r = bad(ret_why, "no \"valid_until_ts\" in the keys");
        else if (json_integer_value(until) <= now_ms)
                r = bad(ret_why, "the keys expired (valid_until_ts is in the past)");
        else if (!json_is_object(keys) || json_object_size(keys) == 0)
                r = bad(ret_why, "no \"verify_keys\" in the keys");
        json_decref(j);
        return r;
}

static char *join(char *const *l) {
        char *s = NULL;
        size_t n;
        FILE *f = open_memstream(&s, &n);

        if (!f)
                return NULL;
        for (char *const *i = l; i && *i; i++)
                fprintf(f, "%s%s", i == l ? "" : ", ", *i);
        if (fclose(f) != 0)
                return mfree(s);
        return s;
}

int answer_dns_record(char *const *addresses, char *const *cnames, char *const *expected, char **ret_why) {
        _cleanup_free_ char *want = join(expected), *got = join(addresses);
        size_t n_cnames = strv_length((char **) cnames);
        bool ok = strv_length((char **) addresses) > 0;

        if (!want || !got)
                return -ENOMEM;
        for (char *const *a = addresses; ok && *a; a++)
                ok = strv_contains((char **) expected, *a);
        if (ok)
                return 0;
        if (n_cnames > 0)
                return bad(ret_why, "invalid CNAME record to %s (expected: %s, actual: %s)",
                           cnames[n_cnames - 1], want, isempty(got) ? "none" : got);
        if (isempty(got))
                return bad(ret_why, "no A or AAAA record (expected: %s)", want);
        return bad(ret_why, "invalid A record (expected: %s, actual: %s)", want, got);
}

int answer_cert_expiry(int64_t expiry, int64_t now, unsigned warn_days, char **ret_text) {
        int64_t days = (expiry - now) / (24 * 3600);
        time_t t = (time_t) expiry;
        char date[32];
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
                snprintf(date, sizeof(date), "?");
        if (expiry <= now)
                return bad(ret_text, "expired on %s", date);
        if (days < warn_days)
                return bad(ret_text, "expires in %" PRIi64 " day%s (%s): renew it", days,
                           days == 1 ? "" : "s", date);
        return asprintf(ret_text, "valid for %" PRIi64 " more days", days) < 0 ? -ENOMEM : 0;
}
