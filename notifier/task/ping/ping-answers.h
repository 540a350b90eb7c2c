/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What ping makes of the answers it gets: each function returns 0 for a good answer, or -EBADMSG
 * with *ret_why saying, for the customer, what is wrong with it (a new string, freed by the
 * caller). Pure: unit-tested and safe on any bytes. */

#include <stddef.h>
#include <stdint.h>

/* GET /_matrix/client/versions: {"versions": ["v1.1", …]} */
int answer_client_versions(long status, const char *body, size_t size, char **ret_why);
/* GET /_matrix/federation/v1/version: {"server": {"name": …, "version": …}} */
int answer_federation_version(long status, const char *body, size_t size, char **ret_why);
/* GET /.well-known/matrix/server: {"m.server": "HOST[:PORT]"} with HOST the homeserver's.
 * *ret_delegated (may be NULL) gets the value whenever it is a usable server name. */
int answer_wellknown_server(long status, const char *body, size_t size, const char *homeserver_host,
                            char **ret_delegated, char **ret_why);
/* GET /.well-known/matrix/client: {"m.homeserver": {"base_url": "https://HOST"}} */
int answer_wellknown_client(long status, const char *body, size_t size, const char *homeserver_host,
                            char **ret_why);
/* GET /_matrix/key/v2/server: server_name as expected, valid_until_ts in the future, keys there. */
int answer_server_keys(long status, const char *body, size_t size, const char *server_name, int64_t now_ms,
                       char **ret_why);

/* A server name "host", "host:port", "[v6]:port" → host and port (0 when none). -EINVAL if not. */
int server_name_split(const char *s, char **ret_host, unsigned *ret_port);

/* The DNS record of a subdomain: every address must be one of expected, and there must be one.
 * cnames is the alias chain (NULL if none). */
int answer_dns_record(char *const *addresses, char *const *cnames, char *const *expected, char **ret_why);

/* "valid for 80 more days" or, under warn_days, "expires in 3 days (2026-11-27)": 0 or -EBADMSG. */
int answer_cert_expiry(int64_t expiry, int64_t now, unsigned warn_days, char **ret_text);
