/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"
#include "tests.h"

static const char minimal[] =
        "[matrix]\n"
        "homeserver = http://127.0.0.1:8008\n"
        "user_id = @bot:test\n"
        "password_file = /secret\n";

#define KNOWN_HOST_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6"

static const char customer[] =
        "[customer acme]\n"
        "owners = @alice:test\n"
        "domain = acme.test\n"
        "ssh_host = 127.0.0.1\n"
        "ssh_key_file = /key\n"
        "ssh_known_host_key = " KNOWN_HOST_KEY "\n";

/* Loads minimal + customer + extra and returns the error, or NULL when it loaded. */
static char *load_error(const char *extra) {
        _cleanup_free_ char *text = NULL;
        char *error = NULL;
        Config *c = NULL;

        if (asprintf(&text, "%s%s%s", minimal, customer, extra) < 0)
                abort();
        if (config_load(tests_write("case.conf", text), CONFIG_LOAD_DEFAULT, &c, &error) >= 0) {
                config_free(c);
                return NULL;
        }
        return error ?: strdup("(no message)");
}

TEST(good_file_has_every_key) {
        _cleanup_free_ char *error = NULL;
        const Customer *a, *g;
        Config *c = NULL;

        ASSERT_OK(config_load(tests_data("good.conf"), CONFIG_LOAD_DEFAULT, &c, &error));
        ASSERT_STREQ(c->homeserver, "https://matrix.example.com");
        ASSERT_STREQ(c->user_id, "@scheduler:example.com");
        ASSERT_STREQ(c->device_name, "Scheduler (test)");
        ASSERT_STREQ(c->state_dir, "/var/lib/scheduler-test");
        ASSERT_EQ(c->monitor_interval, 600);
        ASSERT_EQ(c->n_customers, 2);

        a = config_find_customer(c, "acme");
        ASSERT_TRUE(a);
        ASSERT_EQ(strv_length(a->owners), 2);
        ASSERT_STREQ(a->owners[1], "@carol:example.com");
        ASSERT_EQ(a->ssh_port, 2222);
        ASSERT_STREQ(a->ssh_user, "deploy");
        ASSERT_EQ(a->branch, BRANCH_FRESH);
        ASSERT_EQ(strv_length(a->components), 3);
        ASSERT_STREQ(a->maintenance, "fri 15:00");
        ASSERT_STREQ(a->aliases[2], "mail");
        ASSERT_STREQ(a->aliases[3], "matrix-postmoogle");
        ASSERT_EQ(strv_length(a->disk_paths), 6);
        ASSERT_STREQ(a->disk_paths[2], "Database backups");
        ASSERT_STREQ(a->disk_paths[5], "/matrix/synapse/storage/media-store");
        ASSERT_CONTAINS(c->price_catalogue, "tests/data/prices.conf");
        ASSERT_EQ(config_find_component(c, "hosting-big")->price_cents, 2500);
        ASSERT_STREQ(config_find_component(c, "email")->name, "Email service");
        ASSERT_TRUE(config_find_component(c, "yacht") == NULL);

        g = config_find_owner(c, "@bob:example.org");
        ASSERT_TRUE(g);
        ASSERT_STREQ(g->name, "globex");
        ASSERT_EQ(g->ssh_port, 22);
        ASSERT_STREQ(g->ssh_user, "root");
        ASSERT_EQ(g->branch, BRANCH_STABLE);
        ASSERT_STREQ(customer_zone(g), "UTC");
        ASSERT_EQ(g->disk_threshold, 80);
        ASSERT_EQ(g->ram_threshold, 90);
        ASSERT_EQ(g->cpu_threshold, 90);
        ASSERT_STREQ(customer_zone(a), "Europe/Berlin");
        ASSERT_FALSE(a->monitor);
        ASSERT_FALSE(customer_monitored(c, a));
        ASSERT_TRUE(g->monitor);
        ASSERT_TRUE(customer_monitored(c, g));
        ASSERT_TRUE(config_find_owner(c, "@mallory:example.org") == NULL);
        config_free(c);
}

TEST(defaults) {
        _cleanup_free_ char *error = NULL;
        Config *c = NULL;

        ASSERT_OK(config_load(tests_write("minimal.conf", minimal), CONFIG_LOAD_DEFAULT, &c, &error));
        ASSERT_STREQ(c->state_dir, "/var/lib/scheduler");
        ASSERT_STREQ(c->schedules_dir, "/etc/scheduler/schedules.d");
        ASSERT_STREQ(c->device_name, "The Scheduler");
        ASSERT_EQ(c->monitor_interval, 300);
        ASSERT_EQ(c->lock_wait, 3 * 3600);
        ASSERT_EQ(c->n_customers, 0);
        config_free(c);
}

/* Thousands of customers: found by name again when their section comes twice; the owner of
 * two named as one of the first customer before them that has it. */
static char *many_customers(const char *extra) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                abort();
        fputs(minimal, f);
        for (int i = 0; i < 3000; i++)
                fprintf(f, "[customer c%04d]\nowners = @u%d:test\ndomain = c%d.test\nssh_host = 127.0.0.1\n"
                        "ssh_key_file = /key\nssh_known_host_key = %s\n", i, i, i, KNOWN_HOST_KEY);
        fputs(extra, f);
        if (fclose(f) != 0)
                abort();
        return TAKE_PTR(text);
}

TEST(many_customers) {
        _cleanup_free_ char *good = many_customers("[customer c0005]\nmonitor = no\n"), *error = NULL,
                            *bad = many_customers("[customer z]\nowners = @u2999:test, @u7:test, "
                                                  "@u3:test\n");
        Config *c = NULL;

        ASSERT_OK(config_load(tests_write("many.conf", good), CONFIG_LOAD_DEFAULT, &c, &error));
        ASSERT_EQ(c->n_customers, 3000);
        ASSERT_STREQ(c->customers[2999].name, "c2999");
        ASSERT_FALSE(c->customers[5].monitor);
        ASSERT_TRUE(c->customers[4].monitor && c->customers[2999].monitor);
        config_free(c);
        c = NULL;
        ASSERT_TRUE(config_load(tests_write("many.conf", bad), CONFIG_LOAD_DEFAULT, &c, &error) < 0);
        ASSERT_CONTAINS(error, "[customer z] owners: @u3:test already owns customer c0003");
}

/* monitor_interval: seconds or with a unit, 60 s at least; 0 or off: no monitoring at all. */
TEST(monitor_interval) {
        static const struct {
                const char *value;
                unsigned sec;
        } cases[] = {
                { "300", 300 }, { "5min", 300 }, { "1h", 3600 }, { "90s", 90 },
                { "60", 60 },   { "1d", 86400 }, { "0", 0 },     { "off", 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].value) {
                _cleanup_free_ char *text = NULL, *error = NULL;
                Config *c = NULL;

                if (asprintf(&text, "%s%s[scheduler]\nmonitor_interval = %s\n", minimal, customer,
                             cases[i].value) < 0)
                        abort();
                ASSERT_OK(config_load(tests_write("monitor.conf", text), CONFIG_LOAD_DEFAULT, &c, &error));
                ASSERT_EQ(c->monitor_interval, cases[i].sec);
                ASSERT_TRUE(c->customers[0].monitor);
                ASSERT_EQ(customer_monitored(c, &c->customers[0]), cases[i].sec > 0);
                config_free(c);
        }
}

/* lock_wait: how long a scheduled maintenance or restart waits for another; every customer's. */
TEST(lock_wait) {
        static const struct {
                const char *value;
                unsigned sec;
        } cases[] = { { "0", 0 }, { "90s", 90 }, { "2h", 7200 }, { "24h", 86400 } };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].value) {
                _cleanup_free_ char *text = NULL, *error = NULL;
                Config *c = NULL;

                if (asprintf(&text, "%s%s[scheduler]\nlock_wait = %s\n", minimal, customer, cases[i].value) < 0)
                        abort();
                ASSERT_OK(config_load(tests_write("lock.conf", text), CONFIG_LOAD_DEFAULT, &c, &error));
                ASSERT_EQ(c->lock_wait, cases[i].sec);
                ASSERT_EQ(c->customers[0].lock_wait_sec, cases[i].sec);
                config_free(c);
        }
}

TEST(missing_file_is_named) {
        _cleanup_free_ char *error = NULL;
        Config *c = NULL;

        ASSERT_EQ(config_load("/nonexistent/scheduler.conf", CONFIG_LOAD_DEFAULT, &c, &error), -ENOENT);
        ASSERT_CONTAINS(error, "/nonexistent/scheduler.conf: cannot open");
}

/* Each bad line is named with its file line, section, key and why. */
TEST(errors_name_line_key_and_why) {
        static const struct {
                const char *extra, *expected;
        } cases[] = {
                { "ssh_port = 70000\n", ":11: [customer acme] ssh_port: '70000' is not a port number" },
                { "ssh_port = 22x\n", ":11: [customer acme] ssh_port:" },
                { "colour = blue\n", ":11: [customer acme] colour: unknown key" },
                { "branch = testing\n", "branch: 'testing' is neither 'stable' nor 'fresh'" },
                { "owners = alice\n", "owners: 'alice' is not a Matrix user id" },
                { "maintenance = Friday\n", "maintenance: 'Friday' is not a weekday and time" },
                { "aliases = slack\n", "aliases: 'slack' is not of the form name=unit" },
                { "aliases = slack=sshd\n", "the unit a matrix-* service" },
                { "ssh_known_host_key = AAAA\n", "ssh_known_host_key: 'AAAA' is not a public host key" },
                { "ssh_known_host_key = ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n",
                  "ssh_known_host_key: an RSA host key is checked only by its SHA-1 signature here" },
                { "ssh_user = root;reboot\n", "ssh_user: 'root;reboot' is not a user name" },
                { "ssh_key_file = /etc/keys/%n\n",
                  "ssh_key_file: '/etc/keys/%n' is not an absolute path without spaces or '%'" },
                { "ssh_key_file = /etc/my keys/acme\n", "ssh_key_file: '/etc/my keys/acme' is not" },
                { "domain = acme\n", "domain: 'acme' is not a domain name" },
                { "components = Matrix!\n", "components: 'Matrix!' is not a component name" },
                { "[customer Acme]\nowners = @x:test\n",
                  ":12: [customer Acme] owners: customer name 'Acme'" },
                { "[weird]\nkey = 1\n", ":12: [weird] key: unknown section" },
                { "[matrix]\nhomeserver = ftp://x\n",
                  "homeserver: 'ftp://x' is not an http:// or https:// URL" },
                { "[matrix]\nhomeserver = http://matrix.example.com\n",
                  "homeserver: 'http://matrix.example.com': plain http:// only to this host" },
                { "[matrix]\nhomeserver = http://127.0.0.1.example.com:8008\n", "plain http:// only" },
                { "[matrix]\nhomeserver = http://10.0.0.1:8008\n", "plain http:// only" },
                { "[matrix]\naccess_token_file = /token\n",
                  "set exactly one of password_file and access_token_file" },
                { "[customer b]\nowners = @alice:test\n",
                  "[customer b] owners: @alice:test already owns customer acme" },
                { "[customer b]\nowners = @bob:test\n", "[customer b] domain: missing" },
                { "[customer acme-price]\nowners = @bob:test\ndomain = b.test\n",
                  "[customer acme-price]: its name is customer acme's and \"-price\": their units' names "
                  "would read alike; rename it" },
                { "[customer acme-monitor-eu]\nowners = @bob:test\ndomain = b.test\n",
                  "[customer acme-monitor-eu]: its name is customer acme's and \"-monitor\"" },
                { "[customer c]\ndomain = c.test\n", "[customer c] owners: missing" },
                { "not an ini line\n", ":11: syntax error" },
                { "components = matrix, yacht\n",
                  "[customer acme] components: 'yacht' is not in the price catalogue" },
                { "disk_paths = Media=/srv/$(reboot)\n", "disk_paths: 'Media=/srv/$(reboot)': the label" },
                { "disk_paths = Media=relative\n", "disk_paths: 'Media=relative'" },
                { "disk_paths = /srv\n", "disk_paths: '/srv' is not of the form Label=/path" },
                { "disk_threshold = 0\n", "disk_threshold: '0' is not a percentage (1-100)" },
                { "ram_threshold = 101\n", "ram_threshold: '101' is not a percentage (1-100)" },
                { "[scheduler]\nhelp_url = docs\n",
                  "[scheduler] help_url: 'docs' is not an http(s):// URL" },
                { "timezone = Mars/Olympus\n",
                  "timezone: 'Mars/Olympus' is not a time zone of the tz database" },
                { "address = 192.0.2.1, example.com\n", "address: 'example.com' is not an IP address" },
                { "[scheduler]\nresolver = dns.example\n",
                  "[scheduler] resolver: 'dns.example' is not an IP address with an optional port" },
                { "[scheduler]\nresolver = 192.0.2.53:0\n", "resolver: '192.0.2.53:0'" },
                { "[scheduler]\ncommands_per_minute = 0\n",
                  "[scheduler] commands_per_minute: '0' is not a number from 1 to 6000" },
                { "[scheduler]\nmaintenance_reminder = 8d\n",
                  "[scheduler] maintenance_reminder: '8d' is not a time from 1min to 6d" },
                { "[scheduler]\nlock_wait = 2d\n", "[scheduler] lock_wait: '2d' is not a time up to 24h" },
                { "[scheduler]\nlock_wait = soon\n", "[scheduler] lock_wait: 'soon' is not a time up to 24h" },
                { "[scheduler]\ntls_ca_file = ca.pem\n", "tls_ca_file: 'ca.pem' is not an absolute path" },
                { "[scheduler]\nping_allowed_networks = 127.0.0.0/8, 10.1.2.3/8\n",
                  "[scheduler] ping_allowed_networks: '10.1.2.3/8' is not a network like 10.1.0.0/16" },
                { "[scheduler]\nmonitor_interval = 59\n",
                  "[scheduler] monitor_interval: '59' is not an interval from 60 s to 1 d, like 300, "
                  "5min or 1h (0 or off: no monitoring)" },
                { "[scheduler]\nmonitor_interval = 2d\n", "monitor_interval: '2d' is not an interval" },
                { "[scheduler]\nmonitor_interval = 5 fortnights\n", "monitor_interval: '5 fortnights'" },
                { "[scheduler]\nmonitor_interval = -5min\n", "monitor_interval: '-5min'" },
                { "[scheduler]\nmonitor_interval = 99999999999999999999\n", "monitor_interval: '9999" },
                { "[scheduler]\nmonitor_interval = never\n", "monitor_interval: 'never'" },
                { "monitor = maybe\n", ":11: [customer acme] monitor: 'maybe' is neither 'yes' nor 'no'" },
                { "[scheduler]\nprice_catalogue = /nonexistent/prices.conf\n",
                  "[scheduler] price_catalogue: /nonexistent/prices.conf: cannot open" },
        };

        tests_write("prices.conf", "[component matrix]\nname = Matrix\nprice = 5\n");
        FOREACH_ROW(i, cases, "\"%s\"", cases[i].extra) {
                _cleanup_free_ char *error = load_error(cases[i].extra);

                ASSERT_CONTAINS(error, cases[i].expected);
                ASSERT_CONTAINS(error, "case.conf");
        }
}

TEST(missing_matrix_keys) {
        const char *path = tests_write("nohs.conf", "[matrix]\nuser_id = @bot:test\n");
        _cleanup_free_ char *error = NULL;
        Config *c = NULL;

        ASSERT_TRUE(config_load(path, CONFIG_LOAD_DEFAULT, &c, &error) < 0);
        ASSERT_CONTAINS(error, "[matrix] homeserver: missing");
}

/* The generator needs no prices: a broken catalogue must not cost everyone their schedules. */
TEST(catalogue_left_out_for_the_generator) {
        _cleanup_free_ char *error = NULL, *text = NULL;
        Config *c = NULL;

        if (asprintf(&text, "%s%scomponents = matrix\n", minimal, customer) < 0)
                abort();
        tests_write("prices.conf", "this is not a catalogue\n");
        ASSERT_TRUE(config_load(tests_write("cat.conf", text), CONFIG_LOAD_DEFAULT, &c, &error) < 0);
        ASSERT_CONTAINS(error, "[scheduler] price_catalogue:");
        error = mfree(error);
        ASSERT_OK(config_load(tests_write("cat.conf", text), CONFIG_LOAD_NO_CATALOGUE, &c, &error));
        ASSERT_EQ(c->n_customers, 1);
        ASSERT_EQ(c->n_catalogue, 0);
        config_free(c);
}

TEST(name_predicates) {
        static const struct {
                bool (*valid)(const char *s);
                const char *predicate, *text;
                bool expected;
        } cases[] = {
#define CASE(predicate, text, expected) { predicate, #predicate, text, expected }
                CASE(customer_name_valid, "acme-2", true),
                CASE(customer_name_valid, "-acme", false),
                CASE(customer_name_valid, "ac me", false),
                CASE(customer_name_valid, "acme/../x", false),
                CASE(customer_name_valid, "a23456789012345678901234567890123", false),
                CASE(matrix_user_id_valid, "@alice:example.com:8448", true),
                CASE(matrix_user_id_valid, "@:example.com", false),
                CASE(matrix_user_id_valid, "@a b:example.com", false),
                CASE(matrix_user_id_valid, "alice:example.com", false),
                CASE(hostname_valid, "host;rm", false),
#undef CASE
        };

        FOREACH_ROW(i, cases, "%s(\"%s\")", cases[i].predicate, cases[i].text)
                ASSERT_EQ(cases[i].valid(cases[i].text), cases[i].expected);
}

TEST(socket_addresses) {
        struct sockaddr_storage sa;
        socklen_t len;

        static const struct {
                const char *text;
                int r, family;
                unsigned port;
        } cases[] = {
                { "192.0.2.53", 0, AF_INET, 53 },
                { "127.1.2.3:5353", 0, AF_INET, 5353 },
                { "2001:db8::53", 0, AF_INET6, 53 },
                { "[::1]:5300", 0, AF_INET6, 5300 },
                { "", -EINVAL, 0, 0 },              { "dns.example", -EINVAL, 0, 0 },
                { "192.0.2.1:", -EINVAL, 0, 0 },    { "192.0.2.1:99999", -EINVAL, 0, 0 },
                { "[::1]53", -EINVAL, 0, 0 },       { "1.2.3.4:53:53", -EINVAL, 0, 0 },
                { "::1:53x", -EINVAL, 0, 0 },       { "[1.2.3.4]:53x", -EINVAL, 0, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                ASSERT_EQ(socket_address_parse(cases[i].text, 53, &sa, &len), cases[i].r);
                if (cases[i].r < 0)
                        continue;
                ASSERT_EQ(sa.ss_family, cases[i].family);
                if (cases[i].family == AF_INET) {
                        ASSERT_EQ(ntohs(((struct sockaddr_in *) &sa)->sin_port), cases[i].port);
                        ASSERT_EQ(len, sizeof(struct sockaddr_in));
                } else {
                        ASSERT_EQ(ntohs(((struct sockaddr_in6 *) &sa)->sin6_port), cases[i].port);
                        ASSERT_EQ(len, sizeof(struct sockaddr_in6));
                }
        }
        ASSERT_TRUE(ip_address_valid("::1"));
        ASSERT_FALSE(ip_address_valid("1.2.3"));
}

TEST(branch_sections) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        const Customer *cu;
        Config *c = NULL;

        ASSERT_TRUE(asprintf(&text, "%s%sbranch = fresh\n[customer b]\nowners = @bob:test\ndomain = b.test\n"
                             "ssh_host = b.test\nssh_key_file = /key\nssh_known_host_key = "
                             "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6\n"
                             "[branch stable]\ncommand = /usr/local/bin/playbook  --tags  setup-all\n"
                             "[branch fresh]\nssh_command = cd /srv && ./maintain \"$HOME\"\n"
                             "timeout = 1h30m\n",
                             minimal, customer) >= 0);
        ASSERT_OK(config_load(tests_write("branches.conf", text), CONFIG_LOAD_DEFAULT, &c, &error));
        ASSERT_EQ(strv_length(c->branches[BRANCH_STABLE].command), 3);
        ASSERT_STREQ(c->branches[BRANCH_STABLE].command[0], "/usr/local/bin/playbook");
        ASSERT_STREQ(c->branches[BRANCH_STABLE].command[2], "setup-all");
        ASSERT_TRUE(!c->branches[BRANCH_STABLE].ssh_command);
        ASSERT_EQ(c->branches[BRANCH_STABLE].timeout_sec, 3600);
        ASSERT_STREQ(c->branches[BRANCH_FRESH].ssh_command, "cd /srv && ./maintain \"$HOME\"");
        ASSERT_EQ(c->branches[BRANCH_FRESH].timeout_sec, 5400);
        cu = config_find_customer(c, "acme");
        ASSERT_EQ(cu->branch, BRANCH_FRESH);
        ASSERT_EQ(cu->maintenance_timeout_sec, 5400);
        cu = config_find_customer(c, "b");
        ASSERT_EQ(cu->maintenance_timeout_sec, 3600);
        config_free(c);
}

TEST(no_branch_section_is_the_builtin) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        Config *c = NULL;

        ASSERT_TRUE(asprintf(&text, "%s%s", minimal, customer) >= 0);
        ASSERT_OK(config_load(tests_write("nobranch.conf", text), CONFIG_LOAD_DEFAULT, &c, &error));
        for (Branch b = 0; b < _BRANCH_MAX; b++) {
                ASSERT_TRUE(!c->branches[b].command && !c->branches[b].ssh_command);
                ASSERT_EQ(c->branches[b].timeout_sec, MAINTENANCE_TIMEOUT_DEFAULT_SEC);
        }
        ASSERT_EQ(c->customers[0].maintenance_timeout_sec, MAINTENANCE_TIMEOUT_DEFAULT_SEC);
        config_free(c);
}

TEST(branch_errors) {
        static const struct {
                const char *extra, *expected;
        } cases[] = {
                { "[branch stable]\ncommand = playbook run\n",
                  ":12: [branch stable] command: 'playbook run' does not start with an absolute path" },
                { "[branch testing]\ncommand = /bin/true\n",
                  ":12: [branch testing] command: unknown branch (expected [branch stable] or" },
                { "[branch fresh]\ntimeout = 30\n", ":12: [branch fresh] timeout: '30' is not a time span" },
                { "[branch fresh]\ntimeout = 90x\n", ":12: [branch fresh] timeout: '90x'" },
                { "[branch fresh]\ntimeout = 25h\n", ":12: [branch fresh] timeout: '25h'" },
                { "[branch fresh]\ntimeout = m\n", ":12: [branch fresh] timeout: 'm'" },
                { "[branch fresh]\nplaybook = x\n", ":12: [branch fresh] playbook: unknown key" },
                { "[branch fresh]\nssh_command = a\tb\n",
                  ":12: [branch fresh] ssh_command: control characters" },
                { "[branch fresh]\nssh_command =\n", ":12: [branch fresh] ssh_command: empty" },
                { "[branch stable]\ncommand = /bin/true\nssh_command = true\n",
                  "case.conf: [branch stable]: set only one of command and ssh_command" },
                { "[branch fresh]\ntimeout = 2h\n",
                  "case.conf: [branch fresh]: set command or ssh_command" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].extra) {
                _cleanup_free_ char *error = load_error(cases[i].extra);
                ASSERT_CONTAINS(error, cases[i].expected);
        }
}

TEST(timespans) {
        static const struct {
                const char *text;
                int r;
                unsigned sec;
        } cases[] = {
                { "90m", 0, 5400 },          { "45min", 0, 2700 },     { "1h30m", 0, 5400 },
                { "3600", 0, 3600 },         { "120s", 0, 120 },       { "", ANY_ERROR, 0 },
                { "1h30", ANY_ERROR, 0 },    { "-5m", ANY_ERROR, 0 },  { "5 m", ANY_ERROR, 0 },
                { "99999999999h", ANY_ERROR, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                unsigned v;

                ASSERT_RESULT(timespan_parse_sec(cases[i].text, &v), cases[i].r);
                if (cases[i].r == 0)
                        ASSERT_EQ(v, cases[i].sec);
        }
}

TEST(secret_files_are_ours_alone) {
        const char *path = tests_write("secret", "s3cret\n");
        struct stat st;

        ASSERT_OK(chmod(path, 0600));
        ASSERT_EQ(secret_file_check(path, geteuid(), &st), 0);
        ASSERT_OK(chmod(path, 0400));
        ASSERT_EQ(secret_file_check(path, geteuid(), &st), 0);
        for (mode_t mode = 0640; mode <= 0644; mode += 4) {
                ASSERT_OK(chmod(path, mode));
                ASSERT_EQ(secret_file_check(path, geteuid(), &st), SECRET_EXPOSED);
                ASSERT_EQ(st.st_mode & 0777, mode);
        }
        ASSERT_OK(chmod(path, 0602));
        ASSERT_EQ(secret_file_check(path, geteuid(), &st), SECRET_EXPOSED);
        ASSERT_EQ(secret_file_check(path, geteuid() + 1, &st), SECRET_EXPOSED | SECRET_FOREIGN);
        ASSERT_OK(chmod(path, 0600));
        ASSERT_EQ(secret_file_check(path, geteuid() + 1, &st), SECRET_FOREIGN);
        ASSERT_EQ(st.st_uid, geteuid());
        ASSERT_EQ(secret_file_check(tests_data("no-such-secret"), geteuid(), &st), -ENOENT);
}
