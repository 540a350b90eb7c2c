/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The configuration file, with and without its price catalogue. */

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *path = fuzz_file("scheduler.conf", data, size);

        for (ConfigLoadFlags flags = CONFIG_LOAD_DEFAULT; flags <= CONFIG_LOAD_NO_CATALOGUE; flags++) {
                _cleanup_free_ char *error = NULL;
                Config *c = NULL;

                if (config_load(path, flags, &c, &error) < 0)
                        continue;
                for (size_t i = 0; i < c->n_customers; i++) {
                        const Customer *cu = &c->customers[i];
                        (void) config_find_customer(c, cu->name);
                        if (cu->owners)
                                (void) config_find_owner(c, cu->owners[0]);
                        (void) customer_monitored(c, cu);
                }
                config_free(c);
        }
        return 0;
}
