/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "catalogue.h"
#include "tests.h"

TEST(prices) {
        static const struct {
                const char *text;
                int r;
                unsigned cents;
        } cases[] = {
                { "5", 0, 500 },        { "2.50", 0, 250 },    { "0.5", 0, 50 },
                { "0", 0, 0 },          { "", -EINVAL, 0 },    { "-1", -EINVAL, 0 },
                { "5.", -EINVAL, 0 },   { ".5", -EINVAL, 0 },  { "1e3", -EINVAL, 0 },
                { "$5", -EINVAL, 0 },   { "5.001", -EINVAL, 0 }, { "5 ", -EINVAL, 0 },
                { "9999999999", -EINVAL, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                unsigned c;

                ASSERT_EQ(price_parse(cases[i].text, &c), cases[i].r);
                if (cases[i].r == 0)
                        ASSERT_EQ(c, cases[i].cents);
        }
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

TEST(component_subdomains_and_ports) {
        _cleanup_free_ char *error = NULL;
        Component *items = NULL;
        size_t n = 0;

        static const char text[] = "[component email]\nname = Email\n"
                                   "[component gotosocial]\nname = GoToSocial\n"
                                   "[component element-web]\nname = Element\nsubdomain = chat\n"
                                   "[component matrix]\nname = Matrix\nsubdomain =\nports = 443, 8448\n";

        ASSERT_OK(catalogue_load(tests_write("net.conf", text), &items, &n, &error));
        ASSERT_EQ(n, 4);
        /* Defaults for the common components, unless the catalogue says otherwise. */
        ASSERT_TRUE(!items[0].subdomain);
        ASSERT_EQ(items[0].ports[0], 25);
        ASSERT_EQ(items[0].ports[1], 587);
        ASSERT_EQ(items[0].ports[2], 0);
        ASSERT_STREQ(items[1].subdomain, "social");
        ASSERT_EQ(items[1].ports[0], 0);
        ASSERT_STREQ(items[2].subdomain, "chat");
        ASSERT_TRUE(!items[3].subdomain);
        ASSERT_EQ(items[3].ports[1], 8448);
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
                { "[component x]\nname = X\nsubdomain = a.b\n", "subdomain: 'a.b' is not one DNS label" },
                { "[component x]\nname = X\nports = 25, smtp\n", "ports: '25, smtp' is not a list" },
                { "[component x]\nname = X\nports = 1,2,3,4,5,6,7,8\n", "at most 7 TCP port numbers" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ char *error = NULL;
                Component *items = NULL;
                size_t n = 0;

                ASSERT_EQ(catalogue_load(tests_write("p.conf", cases[i].text), &items, &n, &error), -EINVAL);
                ASSERT_CONTAINS(error, cases[i].expected);
        }
}
