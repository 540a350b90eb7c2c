/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <arpa/inet.h>
#include <ctype.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>

#include "build-config.h"
#include "calendar.h"
#include "catalogue.h"
#include "config.h"
#include "util.h"

#define CUSTOMER_NAME_MAX 32
#define CUSTOMERS_MAX 100000

typedef struct ParseState {
        Config *config;
        char *error;           /* first error; ini_parse() tells us its line */
        StrIndex customers;    /* name → index in config->customers */
} ParseState;

static const char *const branch_table[] = {
        [BRANCH_STABLE] = "stable",
        [BRANCH_FRESH] = "fresh",
};

const char *branch_to_string(Branch b) {
        return b < ELEMENTSOF(branch_table) ? branch_table[b] : NULL;
}

static int branch_from_string(const char *s, Branch *ret) {
        for (size_t i = 0; i < ELEMENTSOF(branch_table); i++)
                if (streq(s, branch_table[i])) {
                        *ret = (Branch) i;
                        return 0;
                }
        return -EINVAL;
}

int timespan_parse_sec(const char *s, unsigned *ret) {
        static const struct {
                const char *unit;
                unsigned sec;
        } units[] = { { "min", 60 }, { "h", 3600 }, { "m", 60 }, { "s", 1 }, { "", 1 } };
        unsigned long long total = 0;

        if (isempty(s))
                return -EINVAL;
        while (*s) {
                unsigned long long v;
                size_t i;
                char *end;

                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno != 0 || v > UINT32_MAX)
                        return -EINVAL;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (startswith(end, units[i].unit))
                                break;
                /* A bare number is seconds, and only as the whole value. */
                if (i == ELEMENTSOF(units) || (units[i].unit[0] == 0 && (*end || total > 0)))
                        return -EINVAL;
                total += v * units[i].sec;
                if (total > UINT32_MAX)
                        return -EINVAL;
                s = end + strlen(units[i].unit);
        }
        *ret = (unsigned) total;
        return 0;
}

static bool chars_valid(const char *s, const char *extra) {
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || strchr(extra, *s)))
                        return false;
        return true;
}

bool customer_name_valid(const char *s) {
        /* Becomes part of unit names and journal matches: keep it to what needs no escaping. */
        return !isempty(s) && strlen(s) <= CUSTOMER_NAME_MAX && (islower((unsigned char) s[0]) ||
               isdigit((unsigned char) s[0])) && chars_valid(s, "-") &&
               !strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

bool hostname_valid(const char *s) {
        return !isempty(s) && strlen(s) <= 253 && s[0] != '-' && s[0] != '.' && chars_valid(s, "-.");
}

static bool matrix_opaque_id_valid(const char *s, char sigil) {
        if (isempty(s) || s[0] != sigil || !s[1] || strlen(s) > 255)
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("-._~+=/:[]", *p))
                        return false;
        return true;
}

bool matrix_room_id_valid(const char *s) {
        return matrix_opaque_id_valid(s, '!');
}

bool matrix_event_id_valid(const char *s) {
        return matrix_opaque_id_valid(s, '$');
}

bool matrix_user_id_valid(const char *s) {
        const char *colon;

        /* @localpart:server, localpart per the spec's historical grammar (no '@', ':' or blanks). */
        if (isempty(s) || s[0] != '@' || strlen(s) > 255)
                return false;
        colon = strchr(s, ':');
        if (!colon || colon == s + 1 || isempty(colon + 1))
                return false;
        for (const char *p = s + 1; p < colon; p++)
                if (*p <= ' ' || *p >= 127 || *p == '@')
                        return false;
        return chars_valid(colon + 1, "-.:[]");
}

bool ip_address_valid(const char *s) {
        struct in6_addr a;
        return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

int socket_address_parse(const char *s, unsigned default_port, struct sockaddr_storage *ret,
                         socklen_t *ret_len) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *port = NULL, *end;
        unsigned p = default_port;

        if (s[0] == '[') {
                end = strchr(s, ']');
                if (!end || (end[1] && end[1] != ':'))
                        return -EINVAL;
                port = end[1] ? end + 2 : NULL;
                s++;
        } else {
                end = strchr(s, ':');
                /* More than one colon and no brackets: an IPv6 address without a port. */
                if (end && strchr(end + 1, ':'))
                        end = NULL;
                port = end ? end + 1 : NULL;
                end = end ?: s + strlen(s);
        }
        if ((size_t) (end - s) >= sizeof(host) || (port && (safe_atou(port, &p) < 0 || p == 0 || p > 65535)))
                return -EINVAL;
        memcpy(host, s, (size_t) (end - s));
        host[end - s] = 0;

        *ret = (struct sockaddr_storage) {};
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;
        if (!strchr(host, ':') && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) p);
                *ret_len = sizeof(*in);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) p);
                *ret_len = sizeof(*in6);
                return 0;
        }
        return -EINVAL;
}

/* "127.0.0.1:8008/…", "[::1]:8008", "localhost": the host part of an http:// URL, on this host. */
static bool http_host_is_loopback(const char *rest) {
        _cleanup_free_ char *host = NULL;
        size_t n;

        if (rest[0] == '[') {
                n = strcspn(rest, "]");
                host = rest[n] == ']' ? strndup(rest + 1, n - 1) : NULL;
        } else
                host = strndup(rest, strcspn(rest, ":/?#"));
        if (!host)
                return false;
        if (streq(host, "localhost"))
                return true;
        return ip_address_valid(host) && streq_ptr(netrange_refused(host, NULL, 0), "loopback");
}

static bool path_valid(const char *s) {
        return !isempty(s) && s[0] == '/' && !strpbrk(s, "\n\r");
}

static bool host_key_valid(const char *s) {
        const char *space = strchr(s, ' ');
        /* Not ssh-rsa: Debian 12's libssh2 (1.10) checks an RSA host key only by a SHA-1 signature,
         * which a forger can make. */
        static const char *const types[] = {
                "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        };
        bool known = false;

        if (!space)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                known = known || (strlen(types[i]) == (size_t) (space - s) && startswith(s, types[i]));
        return known && strlen(space + 1) >= 16 && chars_valid(space + 1, "+/=");
}

static bool alias_unit_valid(const char *s) {
        return startswith(s, "matrix-") && strlen(s) <= 200 && chars_valid(s, "-_.@:");
}

static int set_string(char **field, const char *value) {
        return free_and_strdup(field, value) < 0 ? 0 : 1;
}

static int handle_matrix(ParseState *st, const char *key, const char *value) {
        Config *c = st->config;

        if (streq(key, "homeserver")) {
                if (!startswith(value, "https://") && !startswith(value, "http://"))
                        return ini_fail(&st->error, "matrix", key, "'%s' is not an http:// or https:// URL",
                                        value);
                /* The bot's password and token go there: in the clear only to this host itself. */
                if (startswith(value, "http://") && !http_host_is_loopback(value + strlen("http://")))
                        return ini_fail(&st->error, "matrix", key,
                                        "'%s': plain http:// only to this host (127.0.0.1, [::1], "
                                        "localhost); use https://",
                                        value);
                if (set_string(&c->homeserver, value) == 0)
                        return 0;
                for (size_t n = strlen(c->homeserver); n > 0 && c->homeserver[n - 1] == '/'; n--)
                        c->homeserver[n - 1] = 0;
                return 1;
        }
        if (streq(key, "user_id")) {
                if (!matrix_user_id_valid(value))
                        return ini_fail(&st->error, "matrix", key,
                                        "'%s' is not a Matrix user id (@name:server)", value);
                return set_string(&c->user_id, value);
        }
        if (streq(key, "password_file") || streq(key, "access_token_file") ||
            streq(key, "crypto_key_file")) {
                if (!path_valid(value))
                        return ini_fail(&st->error, "matrix", key, "'%s' is not an absolute path", value);
                return set_string(streq(key, "password_file")     ? &c->password_file :
                                  streq(key, "access_token_file") ? &c->access_token_file :
                                                                    &c->crypto_key_file,
                                  value);
        }
        if (streq(key, "encrypt_rooms")) {
                if (!streq(value, "yes") && !streq(value, "no"))
                        return ini_fail(&st->error, "matrix", key, "'%s' is neither 'yes' nor 'no'", value);
                c->encrypt_rooms = streq(value, "yes");
                return 1;
        }
        if (streq(key, "device_name"))
                return set_string(&c->device_name, value);
        return ini_fail(&st->error, "matrix", key, "unknown key");
}

#define PING_ALLOWED_MAX 64U

static int handle_allowed_networks(ParseState *st, const char *value, Config *c) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ NetRange *ranges = NULL;
        size_t n;

        if (strv_split_comma(value, &l) < 0)
                return 0;
        n = strv_length(l);
        if (n > PING_ALLOWED_MAX)
                return ini_fail(&st->error, "scheduler", "ping_allowed_networks", "give at most %u networks",
                                PING_ALLOWED_MAX);
        ranges = calloc(n ?: 1, sizeof(NetRange));
        if (!ranges)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (netrange_parse(l[i], &ranges[i]) < 0)
                        return ini_fail(&st->error, "scheduler", "ping_allowed_networks",
                                        "'%s' is not a network like 10.1.0.0/16 or fd00::/8 (host bits zero)",
                                        l[i]);
        free(c->ping_allowed);
        c->ping_allowed = TAKE_PTR(ranges);
        c->n_ping_allowed = n;
        return 1;
}

static int handle_scheduler(ParseState *st, const char *key, const char *value) {
        Config *c = st->config;
        char **field = streq(key, "state_dir") ? &c->state_dir : streq(key, "help_url") ? &c->help_url :
                       streq(key, "schedules_dir") ? &c->schedules_dir :
                       streq(key, "price_catalogue") ? &c->price_catalogue :
                       streq(key, "tls_ca_file") ? &c->tls_ca_file : NULL;
        struct sockaddr_storage sa;
        socklen_t len;

        if (streq(key, "monitor_interval")) {
                unsigned sec = 0;

                if (!streq(value, "off") &&
                    (interval_parse(value, &sec) < 0 ||
                     (sec > 0 && (sec < MONITOR_INTERVAL_MIN || sec > MONITOR_INTERVAL_MAX))))
                        return ini_fail(&st->error, "scheduler", key,
                                        "'%s' is not an interval from 60 s to 1 d, like 300, 5min or 1h "
                                        "(0 or off: no monitoring)",
                                        value);
                c->monitor_interval = sec;
                return 1;
        }
        if (streq(key, "commands_per_minute")) {
                unsigned n;

                if (safe_atou(value, &n) < 0 || n < 1 || n > 6000)
                        return ini_fail(&st->error, "scheduler", key, "'%s' is not a number from 1 to 6000",
                                        value);
                c->commands_per_minute = n;
                return 1;
        }
        if (streq(key, "maintenance_reminder")) {
                unsigned sec = 0;

                if (!streq(value, "off") &&
                    (interval_parse(value, &sec) < 0 || (sec > 0 && (sec < 60 || sec > 6 * 24 * 3600))))
                        return ini_fail(&st->error, "scheduler", key,
                                        "'%s' is not a time from 1min to 6d before the maintenance, like "
                                        "24h (0 or off: no reminder)",
                                        value);
                c->maintenance_reminder = sec;
                return 1;
        }
        if (streq(key, "lock_wait")) {
                unsigned sec = 0;

                if (!streq(value, "0") && (interval_parse(value, &sec) < 0 || sec > LOCK_WAIT_MAX))
                        return ini_fail(&st->error, "scheduler", key,
                                        "'%s' is not a time up to 24h, like 3h (0: never wait)", value);
                c->lock_wait = sec;
                return 1;
        }
        if (streq(key, "ping_allowed_networks"))
                return handle_allowed_networks(st, value, c);
        if (streq(key, "resolver")) {
                if (socket_address_parse(value, 53, &sa, &len) < 0)
                        return ini_fail(&st->error, "scheduler", key,
                                        "'%s' is not an IP address with an optional port, like 192.0.2.53, "
                                        "192.0.2.53:5353 or [2001:db8::53]:53",
                                        value);
                return set_string(&c->resolver, value);
        }

        if (!field)
                return ini_fail(&st->error, "scheduler", key, "unknown key");
        if (field == &c->help_url) {
                if (!startswith(value, "https://") && !startswith(value, "http://"))
                        return ini_fail(&st->error, "scheduler", key, "'%s' is not an http(s):// URL",
                                        value);
                return set_string(field, value);
        }
        /* The catalogue may sit next to the configuration, named relative to it. */
        if (!path_valid(value) && (field != &c->price_catalogue || isempty(value) || strpbrk(value, "\n\r")))
                return ini_fail(&st->error, "scheduler", key, "'%s' is not an absolute path", value);
        return set_string(field, value);
}

static Customer *customer_get(ParseState *st, const char *name) {
        Config *c = st->config;
        Customer *n;
        size_t i;

        /* Keys come section by section: the customer being read is almost always the last one. */
        if (c->n_customers > 0 && streq(c->customers[c->n_customers - 1].name, name))
                return &c->customers[c->n_customers - 1];
        i = str_index_get(&st->customers, name);
        if (i != SIZE_MAX)
                return &c->customers[i];
        if (c->n_customers >= CUSTOMERS_MAX)
                return NULL;
        n = reallocarray(c->customers, c->n_customers + 1, sizeof(Customer));
        if (!n)
                return NULL;
        c->customers = n;
        n = &c->customers[c->n_customers];
        *n = (Customer) { .ssh_port = 22, .branch = BRANCH_STABLE, .name = strdup(name), .cpu_threshold = 90,
                          .ram_threshold = 90, .disk_threshold = 80, .monitor = true };
        if (!n->name || str_index_put(&st->customers, n->name, c->n_customers) < 0) {
                free(n->name);
                return NULL;
        }
        c->n_customers++;
        return n;
}

static int handle_user_list(ParseState *st, const char *section, const char *key, const char *value,
                            char ***field) {
        _cleanup_strv_free_ char **l = NULL;

        if (strv_split_comma(value, &l) < 0)
                return 0;
        for (char **i = l; *i; i++)
                if (!matrix_user_id_valid(*i))
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a Matrix user id (@name:server)", *i);
        strv_free(*field);
        *field = TAKE_PTR(l);
        return 1;
}

static int handle_components(ParseState *st, const char *section, const char *value, Customer *cu) {
        _cleanup_strv_free_ char **l = NULL;

        if (strv_split_comma(value, &l) < 0)
                return 0;
        for (char **i = l; *i; i++)
                if (!customer_name_valid(*i))
                        return ini_fail(&st->error, section, "components", "'%s' is not a component name",
                                        *i);
        strv_free(cu->components);
        cu->components = TAKE_PTR(l);
        return 1;
}

static int handle_addresses(ParseState *st, const char *section, const char *value, Customer *cu) {
        _cleanup_strv_free_ char **l = NULL;

        if (strv_split_comma(value, &l) < 0)
                return 0;
        if (strv_length(l) == 0 || strv_length(l) > 8)
                return ini_fail(&st->error, section, "address", "give one to eight IP addresses");
        for (char **i = l; *i; i++)
                if (!ip_address_valid(*i))
                        return ini_fail(&st->error, section, "address", "'%s' is not an IP address", *i);
        strv_free(cu->addresses);
        cu->addresses = TAKE_PTR(l);
        return 1;
}

static bool disk_label_valid(const char *s) {
        return !isempty(s) && strlen(s) <= 40 && isalpha((unsigned char) s[0]) && chars_valid(s, " ()-");
}

static bool disk_path_valid(const char *s) {
        /* Goes into a command line on the customer's server: no quoting can be needed. */
        return path_valid(s) && strlen(s) <= 200 && chars_valid(s, "/._-") && !strstr(s, "..");
}

/* "name=value, name=value" into alternating name, value; form and rule say what is expected. */
typedef struct PairRule {
        const char *key;
        const char *form;
        const char *rule;
        bool (*name_ok)(const char *s);
        bool (*value_ok)(const char *s);
} PairRule;

static int handle_pairs(ParseState *st, const char *section, const PairRule *p, const char *value,
                        char ***field) {
        _cleanup_strv_free_ char **l = NULL, **pairs = NULL;

        if (strv_split_comma(value, &l) < 0)
                return 0;
        for (char **i = l; *i; i++) {
                char *eq = strchr(*i, '=');
                if (!eq)
                        return ini_fail(&st->error, section, p->key, "'%s' is not of the form %s", *i,
                                        p->form);
                *eq = 0;
                if (!p->name_ok(strstrip(*i)) || !p->value_ok(strstrip(eq + 1)))
                        return ini_fail(&st->error, section, p->key, "'%s=%s': %s", *i, eq + 1, p->rule);
                if (strv_extend(&pairs, strstrip(*i)) < 0 || strv_extend(&pairs, strstrip(eq + 1)) < 0)
                        return 0;
        }
        strv_free(*field);
        *field = TAKE_PTR(pairs);
        return 1;
}

static const PairRule alias_rule = {
        "aliases",
        "name=unit",
        "the name must be lower-case letters, digits and '-', the unit a matrix-* service",
        customer_name_valid,
        alias_unit_valid,
};

static const PairRule disk_rule = {
        "disk_paths",
        "Label=/path",
        "the label must be letters, digits, blanks and ()-, "
        "the path absolute with letters, digits and /._- only",
        disk_label_valid,
        disk_path_valid,
};

static int handle_customer_ssh(ParseState *st, const char *section, const char *key, const char *value,
                               Customer *cu) {
        if (streq(key, "ssh_host")) {
                if (!hostname_valid(value))
                        return ini_fail(&st->error, section, key, "'%s' is not a host name or address",
                                        value);
                return set_string(&cu->ssh_host, value);
        }
        if (streq(key, "ssh_port")) {
                if (safe_atou(value, &cu->ssh_port) < 0 || cu->ssh_port == 0 || cu->ssh_port > 65535)
                        return ini_fail(&st->error, section, key, "'%s' is not a port number (1-65535)",
                                        value);
                return 1;
        }
        if (streq(key, "ssh_user")) {
                if (!isalpha((unsigned char) value[0]) || !chars_valid(value, "-_") || strlen(value) > 32)
                        return ini_fail(&st->error, section, key, "'%s' is not a user name", value);
                return set_string(&cu->ssh_user, value);
        }
        if (streq(key, "ssh_key_file")) {
                /* It goes into the tasks' units as LoadCredential=: no room for a specifier or a
                 * space there. */
                if (!path_valid(value) || strpbrk(value, "% \t"))
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not an absolute path without spaces or '%%'", value);
                return set_string(&cu->ssh_key_file, value);
        }
        if (startswith(value, "ssh-rsa "))
                return ini_fail(&st->error, section, key,
                                "an RSA host key is checked only by its SHA-1 signature here (libssh2 1.10): "
                                "give the server's ssh-ed25519 or ecdsa-sha2-nistp256 key "
                                "(/etc/ssh/ssh_host_ed25519_key.pub)");
        if (!host_key_valid(value))
                return ini_fail(&st->error, section, key,
                                "'%s' is not a public host key (\"ssh-ed25519 AAAA…\")", value);
        return set_string(&cu->ssh_known_host_key, value);
}

static int handle_customer(ParseState *st, const char *section, const char *name, const char *key,
                           const char *value) {
        Customer *cu;

        if (!customer_name_valid(name))
                return ini_fail(&st->error, section, key,
                                "customer name '%s' must be 1-32 lower-case letters, digits "
                                "and '-'",
                                name);
        cu = customer_get(st, name);
        if (!cu)
                return 0;
        if (streq(key, "owners"))
                return handle_user_list(st, section, key, value, &cu->owners);
        if (streq(key, "domain")) {
                if (!hostname_valid(value) || !strchr(value, '.'))
                        return ini_fail(&st->error, section, key, "'%s' is not a domain name", value);
                return set_string(&cu->domain, value);
        }
        if (startswith(key, "ssh_") && (streq(key, "ssh_host") || streq(key, "ssh_port") ||
                                        streq(key, "ssh_user") || streq(key, "ssh_key_file") ||
                                        streq(key, "ssh_known_host_key")))
                return handle_customer_ssh(st, section, key, value, cu);
        if (streq(key, "branch")) {
                if (branch_from_string(value, &cu->branch) < 0)
                        return ini_fail(&st->error, section, key, "'%s' is neither 'stable' nor 'fresh'",
                                        value);
                return 1;
        }
        if (streq(key, "components"))
                return handle_components(st, section, value, cu);
        if (streq(key, "maintenance")) {
                WeeklyTime w;
                if (weekly_time_parse(value, &w) < 0)
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a weekday and time, like 'Friday 15:00'", value);
                return set_string(&cu->maintenance, value);
        }
        if (streq(key, "aliases"))
                return handle_pairs(st, section, &alias_rule, value, &cu->aliases);
        if (streq(key, "disk_paths"))
                return handle_pairs(st, section, &disk_rule, value, &cu->disk_paths);
        if (streq(key, "cpu_threshold") || streq(key, "ram_threshold") || streq(key, "disk_threshold")) {
                unsigned *t = streq(key, "cpu_threshold") ? &cu->cpu_threshold :
                              streq(key, "ram_threshold") ? &cu->ram_threshold : &cu->disk_threshold;
                if (safe_atou(value, t) < 0 || *t == 0 || *t > 100)
                        return ini_fail(&st->error, section, key, "'%s' is not a percentage (1-100)", value);
                return 1;
        }
        if (streq(key, "address"))
                return handle_addresses(st, section, value, cu);
        if (streq(key, "monitor")) {
                if (!streq(value, "yes") && !streq(value, "no"))
                        return ini_fail(&st->error, section, key, "'%s' is neither 'yes' nor 'no'", value);
                cu->monitor = streq(value, "yes");
                return 1;
        }
        if (streq(key, "timezone")) {
                if (!zone_valid(value))
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a time zone of the tz database (like "
                                        "Europe/Berlin or UTC)",
                                        value);
                return set_string(&cu->timezone, value);
        }
        return ini_fail(&st->error, section, key, "unknown key");
}

/* Split on blanks, no shell: the operator's program with its arguments. */
static int handle_branch_command(ParseState *st, const char *section, const char *value, BranchConfig *b) {
        _cleanup_free_ char *copy = strdup(value);
        _cleanup_strv_free_ char **argv = NULL;
        char *state = NULL;

        if (!copy)
                return 0;
        for (char *w = strtok_r(copy, " \t", &state); w; w = strtok_r(NULL, " \t", &state))
                if (strv_extend(&argv, w) < 0)
                        return 0;
        if (!argv || !path_valid(argv[0]))
                return ini_fail(&st->error, section, "command", "'%s' does not start with an absolute path "
                                "(it runs without a shell)", value);
        strv_free(b->command);
        b->command = TAKE_PTR(argv);
        return 1;
}

static int handle_branch(ParseState *st, const char *section, const char *name, const char *key,
                         const char *value) {
        BranchConfig *b;
        Branch which;

        if (branch_from_string(name, &which) < 0)
                return ini_fail(&st->error, section, key, "unknown branch (expected [branch stable] or "
                                "[branch fresh])");
        b = &st->config->branches[which];
        if (streq(key, "command"))
                return handle_branch_command(st, section, value, b);
        if (streq(key, "ssh_command")) {
                /* As ssh-io.c takes it: one line of printable text. */
                if (isempty(value))
                        return ini_fail(&st->error, section, key, "empty");
                for (const char *p = value; *p; p++)
                        if ((unsigned char) *p < ' ' || *p == 0x7f)
                                return ini_fail(&st->error, section, key, "control characters (a tab?) in "
                                                "the command; give it as one line of text");
                return set_string(&b->ssh_command, value);
        }
        if (streq(key, "timeout")) {
                if (timespan_parse_sec(value, &b->timeout_sec) < 0 || b->timeout_sec < 60 ||
                    b->timeout_sec > 24 * 3600)
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a time span from 1min to 24h, like '90m' or '2h'",
                                        value);
                return 1;
        }
        return ini_fail(&st->error, section, key, "unknown key");
}

static int handler(void *userdata, const char *section, const char *key, const char *value) {
        ParseState *st = userdata;
        const char *name;

        if (streq(section, "matrix"))
                return handle_matrix(st, key, value);
        if (streq(section, "scheduler"))
                return handle_scheduler(st, key, value);
        name = startswith(section, "customer ");
        if (name)
                return handle_customer(st, section, name, key, value);
        name = startswith(section, "branch ");
        if (name)
                return handle_branch(st, section, name, key, value);
        return ini_fail(&st->error, section, key, "unknown section (expected [matrix], [scheduler], "
                        "[customer NAME] or [branch NAME])");
}

/* owners: each owner → the first customer that has them. */
static int validate_customer(const Config *c, const Customer *cu, const StrIndex *owners, char **ret_why) {
        static const struct {
                size_t offset;
                const char *key;
        } required[] = {
                { offsetof(Customer, domain), "domain" },
                { offsetof(Customer, ssh_host), "ssh_host" },
                { offsetof(Customer, ssh_key_file), "ssh_key_file" },
                { offsetof(Customer, ssh_known_host_key), "ssh_known_host_key" },
        };
        size_t first = SIZE_MAX;
        const char *owner = NULL;

        if (strv_length(cu->owners) == 0)
                return asprintf(ret_why, "[customer %s] owners: missing; who may give commands?", cu->name);
        /* One Matrix user acts for one customer, or a command would not say whose server it means.
         * Named: the first customer before this one that has one of its owners, and the first of
         * those owners. */
        for (char **i = cu->owners; *i; i++) {
                size_t k = str_index_get(owners, *i);

                if (k < (size_t) (cu - c->customers) && k < first) {
                        first = k;
                        owner = *i;
                }
        }
        if (owner)
                return asprintf(ret_why, "[customer %s] owners: %s already owns customer %s", cu->name,
                                owner, c->customers[first].name);

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!*(char **) ((const char *) cu + required[i].offset))
                        return asprintf(ret_why, "[customer %s] %s: missing", cu->name, required[i].key);
        return 0;
}

static const char *const default_disk_paths[] = {
        "Database", "/matrix/postgres/data",
        "Database backups", "/matrix/postgres-backup",
        "Media", "/matrix/synapse/storage/media-store",
        NULL,
};

static int config_load_catalogue(Config *c, char **ret_why) {
        _cleanup_free_ char *path = NULL, *error = NULL;
        const char *slash;
        bool needed = false;
        int r;

        for (size_t i = 0; i < c->n_customers; i++)
                needed = needed || strv_length(c->customers[i].components) > 0;
        if (!c->price_catalogue && !needed)
                return 0;

        slash = strrchr(c->path, '/');
        r = (c->price_catalogue ?: "prices.conf")[0] == '/' ? asprintf(&path, "%s", c->price_catalogue) :
                asprintf(&path, "%.*s%s", slash ? (int) (slash - c->path + 1) : 0, c->path,
                         c->price_catalogue ?: "prices.conf");
        if (r < 0)
                return -ENOMEM;
        r = catalogue_load(path, &c->catalogue, &c->n_catalogue, &error);
        if (r < 0)
                return asprintf(ret_why, "[scheduler] price_catalogue: %s", error ?: "out of memory");
        free(c->price_catalogue);
        c->price_catalogue = TAKE_PTR(path);

        for (size_t i = 0; i < c->n_customers; i++)
                for (char **k = c->customers[i].components; k && *k; k++)
                        if (!config_find_component(c, *k))
                                return asprintf(ret_why,
                                                "[customer %s] components: '%s' is not in the price "
                                                "catalogue %s",
                                                c->customers[i].name, *k, c->price_catalogue);
        return 0;
}

/* Unit names are scheduler-CUSTOMER-COMMAND-…: a customer named "acme-price" would make names that
 * also read as customer acme's price. Refused, so that a unit's name says whose it is (the
 * notifier believes a result only from its customer's own units). */
static const char *const unit_words[] = { "ping", "price", "disk", "restart", "maintenance", "monitor" };

static int validate_unit_names(const Config *c, char **ret_why) {
        _cleanup_(str_index_done) StrIndex names = {};

        for (size_t i = 0; i < c->n_customers; i++)
                if (str_index_put(&names, c->customers[i].name, i) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < c->n_customers; i++) {
                const char *b = c->customers[i].name;

                for (const char *dash = strchr(b, '-'); dash; dash = strchr(dash + 1, '-')) {
                        _cleanup_free_ char *prefix = strndup(b, (size_t) (dash - b));

                        if (!prefix)
                                return -ENOMEM;
                        if (str_index_get(&names, prefix) == SIZE_MAX)
                                continue;
                        for (size_t w = 0; w < ELEMENTSOF(unit_words); w++) {
                                const char *after = startswith(dash + 1, unit_words[w]);
                                if (after && (*after == 0 || *after == '-'))
                                        return asprintf(ret_why,
                                                        "[customer %s]: its name is customer %s's and \"-%s\": "
                                                        "their units' names would read alike; rename it",
                                                        b, prefix, unit_words[w]) < 0 ? -ENOMEM : 1;
                        }
                }
        }
        return 0;
}

static int config_validate(Config *c, ConfigLoadFlags flags, char **ret_why) {
        _cleanup_(str_index_done) StrIndex owners = {};
        int r;

        if (!c->homeserver)
                return asprintf(ret_why, "[matrix] homeserver: missing");
        if (!c->user_id)
                return asprintf(ret_why, "[matrix] user_id: missing");
        if (!!c->password_file == !!c->access_token_file)
                return asprintf(ret_why, "[matrix]: set exactly one of password_file and access_token_file");
        r = validate_unit_names(c, ret_why);
        if (r != 0)
                return r;
        for (size_t i = 0; i < c->n_customers; i++)
                for (char **o = c->customers[i].owners; o && *o; o++)
                        if (str_index_put(&owners, *o, i) < 0)
                                return -ENOMEM;
        for (size_t i = 0; i < c->n_customers; i++) {
                Customer *cu = &c->customers[i];

                if (!cu->ssh_user && set_string(&cu->ssh_user, "root") == 0)
                        return -ENOMEM;
                bool fill = !cu->disk_paths;

                for (size_t k = 0; fill && default_disk_paths[k]; k++)
                        if (strv_extend(&cu->disk_paths, default_disk_paths[k]) < 0)
                                return -ENOMEM;
                if (validate_customer(c, &c->customers[i], &owners, ret_why) != 0)
                        return 1;
        }
        for (Branch b = 0; b < _BRANCH_MAX; b++) {
                BranchConfig *bc = &c->branches[b];

                if (bc->command && bc->ssh_command)
                        return asprintf(ret_why, "[branch %s]: set only one of command and ssh_command",
                                        branch_to_string(b));
                if (bc->timeout_sec > 0 && !bc->command && !bc->ssh_command)
                        return asprintf(ret_why, "[branch %s]: set command or ssh_command (without the "
                                        "section, the built-in maintenance runs)", branch_to_string(b));
                if (bc->timeout_sec == 0)
                        bc->timeout_sec = MAINTENANCE_TIMEOUT_DEFAULT_SEC;
        }
        for (size_t i = 0; i < c->n_customers; i++) {
                c->customers[i].maintenance_timeout_sec = c->branches[c->customers[i].branch].timeout_sec;
                c->customers[i].lock_wait_sec = c->lock_wait;
        }
        if (!(flags & CONFIG_LOAD_NO_CATALOGUE) && config_load_catalogue(c, ret_why) != 0)
                return 1;
        if ((!c->state_dir && set_string(&c->state_dir, SCHEDULER_STATE_DIR) == 0) ||
            (!c->schedules_dir && set_string(&c->schedules_dir, SCHEDULER_SCHEDULES_DIR) == 0) ||
            (!c->device_name && set_string(&c->device_name, "The Scheduler") == 0))
                return -ENOMEM;
        return 0;
}

static void parse_state_done(ParseState *st) {
        str_index_done(&st->customers);
        st->error = mfree(st->error);
}

int config_load(const char *path, ConfigLoadFlags flags, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(parse_state_done) ParseState st = {};
        _cleanup_fclose_ FILE *f = NULL;
        int r, line;

        *ret_error = NULL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->path = strdup(path);
        if (!c->path)
                return -ENOMEM;
        c->monitor_interval = MONITOR_INTERVAL_DEFAULT;
        c->encrypt_rooms = true;
        c->commands_per_minute = COMMANDS_PER_MINUTE_DEFAULT;
        c->lock_wait = LOCK_WAIT_DEFAULT;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                (void) asprintf(ret_error, "%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        st.config = c;
        line = ini_parse_file(f, handler, &st);
        if (line != 0) {
                if (line < 0)
                        r = asprintf(ret_error, "%s: cannot read", path);
                else
                        r = asprintf(ret_error, "%s:%i: %s", path, line, st.error ?: "syntax error");
                return r < 0 ? -ENOMEM : -EINVAL;
        }
        parse_state_done(&st);

        r = config_validate(c, flags, &st.error);
        if (r != 0) {
                if (r > 0 && st.error && asprintf(ret_error, "%s: %s", path, st.error) < 0)
                        *ret_error = NULL;
                return r < 0 ? r : -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static void customer_done(Customer *cu) {
        free(cu->name);
        strv_free(cu->owners);
        free(cu->domain);
        free(cu->ssh_host);
        free(cu->ssh_user);
        free(cu->ssh_key_file);
        free(cu->ssh_known_host_key);
        strv_free(cu->components);
        free(cu->maintenance);
        strv_free(cu->aliases);
        strv_free(cu->disk_paths);
        free(cu->timezone);
        strv_free(cu->addresses);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_customers; i++)
                customer_done(&c->customers[i]);
        free(c->customers);
        free(c->path);
        free(c->homeserver);
        free(c->user_id);
        free(c->password_file);
        free(c->access_token_file);
        free(c->device_name);
        free(c->crypto_key_file);
        free(c->state_dir);
        free(c->schedules_dir);
        free(c->price_catalogue);
        free(c->help_url);
        free(c->resolver);
        free(c->tls_ca_file);
        free(c->ping_allowed);
        catalogue_free(c->catalogue, c->n_catalogue);
        for (Branch b = 0; b < _BRANCH_MAX; b++) {
                strv_free(c->branches[b].command);
                free(c->branches[b].ssh_command);
        }
        free(c);
        return NULL;
}

const Customer *config_find_customer(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_customers; i++)
                if (streq(c->customers[i].name, name))
                        return &c->customers[i];
        return NULL;
}

const Customer *config_find_owner(const Config *c, const char *matrix_user) {
        for (size_t i = 0; i < c->n_customers; i++)
                if (strv_contains(c->customers[i].owners, matrix_user))
                        return &c->customers[i];
        return NULL;
}

const Component *config_find_component(const Config *c, const char *id) {
        for (size_t i = 0; i < c->n_catalogue; i++)
                if (streq(c->catalogue[i].id, id))
                        return &c->catalogue[i];
        return NULL;
}
