/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "services.h"
#include "tests.h"

TEST(aliases_and_full_names) {
        char *aliases[] = { (char *) "chat", (char *) "matrix-element-web", (char *) "slack",
                            (char *) "matrix-my-slack", NULL };
        static const struct {
                bool custom;
                const char *name, *unit;
        } cases[] = {
                { false, "slack", "matrix-mautrix-slack" },
                { false, "facebook", "matrix-mautrix-facebook" },
                { false, "matrix-mautrix-facebook", "matrix-mautrix-facebook" },
                { false, "matrix-synapse.service", "matrix-synapse.service" },
                /* The customer's own table comes first. */
                { true, "chat", "matrix-element-web" },
                { true, "slack", "matrix-my-slack" },
        };
        Customer plain = {}, custom = { .aliases = aliases };

        FOREACH_ROW(i, cases, "%s \"%s\"", cases[i].custom ? "custom" : "plain", cases[i].name) {
                const char *unit;

                ASSERT_OK(service_resolve(cases[i].custom ? &custom : &plain, cases[i].name, &unit));
                ASSERT_STREQ(unit, cases[i].unit);
        }
}

TEST(everything_else_is_refused) {
        static const struct {
                const char *name;
                int r;
        } cases[] = {
                { "sshd", -ENOENT },          { "ssh.service", -ENOENT }, { "systemd-journald", -ENOENT },
                { "matrix-", -ENOENT },       { "foo", -ENOENT },
                { "", -EINVAL },              { "slack;reboot", -EINVAL }, { "$(reboot)", -EINVAL },
                { "matrix-a b", -EINVAL },    { "matrix-a/../b", -EINVAL }, { "matrix-a'b", -EINVAL },
                { "matrix-\xc3\xa4", -EINVAL },
        };
        Customer plain = {};

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].name) {
                const char *unit;

                ASSERT_EQ(service_resolve(&plain, cases[i].name, &unit), cases[i].r);
        }
}

TEST(builtin_table_is_well_formed) {
        size_t n = 0;

        for (; service_builtin_aliases[n]; n++)
                if (n % 2 == 1)
                        ASSERT_TRUE(startswith(service_builtin_aliases[n], "matrix-"));
        ASSERT_EQ(n % 2, 0);
        ASSERT_TRUE(n >= 20);
}
