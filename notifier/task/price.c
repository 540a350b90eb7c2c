/* SPDX-License-Identifier: GPL-3.0-or-later */

/* price: the customer's monthly price, from the catalogue and their components. */

#include "task.h"
#include "util.h"

static void print_price(FILE *f, unsigned cents) {
        if (cents % 100 == 0)
                fprintf(f, "$%u", cents / 100);
        else
                fprintf(f, "$%u.%02u", cents / 100, cents % 100);
}

int task_price(TaskContext *t) {
        const Customer *cu = t->customer;
        unsigned total = 0;

        if (strv_length(t->args) > 0)
                return task_fail(t, -EINVAL, "`price` takes no arguments");
        if (strv_length(cu->components) == 0) {
                fputs("No components are on record for your server; contact us to review your setup.\n",
                      t->report);
                return 0;
        }
        for (char **k = cu->components; *k; k++) {
                const Component *c = config_find_component(t->config, *k);
                /* Checked when the configuration was loaded; a catalogue edited since is our fault. */
                if (!c)
                        return task_fail(t, -ENOENT, "component `%s` is missing from the price catalogue; "
                                         "we have been told", *k);
                total += c->price_cents;
        }

        fputs("The total price for your server is ", t->report);
        print_price(t->report, total);
        fputs("\nHere is the detailed breakdown (free items are skipped):\n", t->report);
        for (char **k = cu->components; *k; k++) {
                const Component *c = config_find_component(t->config, *k);

                if (c->price_cents == 0)
                        continue;
                fprintf(t->report, "* %s: ", c->name);
                print_price(t->report, c->price_cents);
                fprintf(t->report, "%s%s\n", isempty(c->description) ? "" : ". ", strempty(c->description));
        }
        return 0;
}
