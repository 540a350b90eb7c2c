/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "services.h"
#include "tests.h"

TEST(aliases_and_full_names) {
        char *aliases[] = { (char *) "chat", (char *) "matrix-element-web", (char *) "slack",
                            (char *) "matrix-my-slack", NULL };
        Customer plain = {}, custom = { .aliases = aliases };
        const char *unit;

        ASSERT_OK(service_resolve(&plain, "slack", &unit));
        ASSERT_STREQ(unit, "matrix-mautrix-slack");
        ASSERT_OK(service_resolve(&plain, "facebook", &unit));
        ASSERT_STREQ(unit, "matrix-mautrix-facebook");
        ASSERT_OK(service_resolve(&plain, "matrix-mautrix-facebook", &unit));
        ASSERT_STREQ(unit, "matrix-mautrix-facebook");
        ASSERT_OK(service_resolve(&plain, "matrix-synapse.service", &unit));
        ASSERT_STREQ(unit, "matrix-synapse.service");
        /* The customer's own table comes first. */
        ASSERT_OK(service_resolve(&custom, "chat", &unit));
        ASSERT_STREQ(unit, "matrix-element-web");
        ASSERT_OK(service_resolve(&custom, "slack", &unit));
        ASSERT_STREQ(unit, "matrix-my-slack");
}

TEST(everything_else_is_refused) {
        static const char *const unknown[] = { "sshd", "ssh.service", "systemd-journald", "matrix-", "foo" };
        static const char *const invalid[] = {
                "",           "slack;reboot",   "$(reboot)", "matrix-a b", "matrix-a/../b",
                "matrix-a'b", "matrix-\xc3\xa4"
        };
        Customer plain = {};
        const char *unit;

        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                ASSERT_EQ(service_resolve(&plain, unknown[i], &unit), -ENOENT);
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
                ASSERT_EQ(service_resolve(&plain, invalid[i], &unit), -EINVAL);
}

TEST(builtin_table_is_well_formed) {
        size_t n = 0;

        for (; service_builtin_aliases[n]; n++)
                if (n % 2 == 1)
                        ASSERT_TRUE(startswith(service_builtin_aliases[n], "matrix-"));
        ASSERT_EQ(n % 2, 0);
        ASSERT_TRUE(n >= 20);
}
