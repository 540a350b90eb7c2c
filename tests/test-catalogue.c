/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "catalogue.h"
#include "tests.h"

TEST(prices) {
        unsigned c;

        ASSERT_OK(price_parse("5", &c));
        ASSERT_EQ(c, 500);
        ASSERT_OK(price_parse("2.50", &c));
        ASSERT_EQ(c, 250);
        ASSERT_OK(price_parse("0.5", &c));
        ASSERT_EQ(c, 50);
        ASSERT_OK(price_parse("0", &c));
        ASSERT_EQ(c, 0);
        static const char *const bad[] = { "", "-1", "5.", ".5", "1e3", "$5", "5.001", "5 ", "9999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(price_parse(bad[i], &c), -EINVAL);
}

TEST(the_shipped_catalogue_loads) {
        _cleanup_free_ char *error = NULL;
        Component *items = NULL;
        size_t n = 0;

        ASSERT_OK(catalogue_load(tests_data("prices.conf"), &items, &n, &error));
        ASSERT_EQ(n, 14);
        ASSERT_STREQ(items[0].id, "borgbackup");
        ASSERT_STREQ(items[0].name, "BorgBackup");
        ASSERT_EQ(items[0].price_cents, 300);
        ASSERT_CONTAINS(items[0].description, "Holy Grail");
        catalogue_free(items, n);
}

TEST(catalogue_errors) {
        static const struct {
                const char *text, *expected;
        } cases[] = {
                { "[component x]\nprice = five\n", ":2: [component x] price: 'five' is not a price" },
                { "[component x]\nname = X\ncolour = red\n", ":3: [component x] colour: unknown key" },
                { "[thing x]\nname = X\n", ":2: [thing x] name: sections are [component ID]" },
                { "[component x]\nprice = 1\n", "[component x] name: missing" },
                { "[component x]\nname = `rm`\n", "no backticks" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL;
                Component *items = NULL;
                size_t n = 0;

                ASSERT_EQ(catalogue_load(tests_write("p.conf", cases[i].text), &items, &n, &error), -EINVAL);
                ASSERT_CONTAINS(error, cases[i].expected);
        }
}
