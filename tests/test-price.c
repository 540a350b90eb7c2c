/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "task.h"
#include "tests.h"

static char *run_price(const Config *c, const char *customer, char **args, int *ret, char **ret_failure) {
        TaskContext t = { .config = c, .customer = config_find_customer(c, customer), .args = args };
        char *text = NULL;
        size_t size = 0;

        t.report = open_memstream(&text, &size);
        if (!t.report || !t.customer)
                abort();
        *ret = task_price(&t);
        fclose(t.report);
        *ret_failure = t.failure;
        return text;
}

TEST(breakdown_as_on_the_page) {
        _cleanup_free_ char *error = NULL, *text = NULL, *failure = NULL;
        char *no_args[] = { NULL };
        Config *c = NULL;
        int r;

        ASSERT_OK(config_load(tests_data("good.conf"), CONFIG_LOAD_DEFAULT, &c, &error));
        text = run_price(c, "acme", no_args, &r, &failure);
        ASSERT_OK(r);
        ASSERT_STREQ(text, "The total price for your server is $35\n"
                           "Here is the detailed breakdown (free items are skipped):\n"
                           "* Matrix: $5. Base components and services for any server\n"
                           "* Hosting (Big): $25. The VPS where your Matrix server is hosted\n"
                           "* Email service: $5. A fully-featured multi-user email service for your domain, "
                           "powered by Migadu. SMTP Relay is included at no extra cost.\n");
        config_free(c);
}

TEST(free_items_cents_and_no_components) {
        _cleanup_free_ char *error = NULL, *text = NULL, *empty = NULL, *f1 = NULL, *f2 = NULL, *f3 = NULL,
                           *args_text = NULL;
        char *no_args[] = { NULL }, *one_arg[] = { (char *) "now", NULL };
        Config *c = NULL;
        int r;

        tests_write("prices.conf", "[component a]\nname = A\nprice = 2.50\n"
                                   "[component free]\nname = Free\nprice = 0\n");
        ASSERT_OK(config_load(
                tests_write("scheduler.conf",
                            "[matrix]\nhomeserver = https://h\nuser_id = @b:t\npassword_file = /p\n"
                            "[customer x]\nowners = @x:t\ndomain = x.t\nssh_host = h\n"
                            "ssh_key_file = /k\nssh_known_host_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n"
                            "components = a, free, a\n"
                            "[customer y]\nowners = @y:t\ndomain = y.t\nssh_host = h\n"
                            "ssh_key_file = /k\nssh_known_host_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n"),
                CONFIG_LOAD_DEFAULT, &c, &error));
        text = run_price(c, "x", no_args, &r, &f1);
        ASSERT_OK(r);
        ASSERT_STREQ(text, "The total price for your server is $5\n"
                           "Here is the detailed breakdown (free items are skipped):\n"
                           "* A: $2.50\n* A: $2.50\n");
        empty = run_price(c, "y", no_args, &r, &f2);
        ASSERT_OK(r);
        ASSERT_CONTAINS(empty, "No components are on record");
        args_text = run_price(c, "x", one_arg, &r, &f3);
        ASSERT_EQ(r, -EINVAL);
        ASSERT_STREQ(f3, "`price` takes no arguments");
        config_free(c);
}
