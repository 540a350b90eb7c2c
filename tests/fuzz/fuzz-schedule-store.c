/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A customer's schedule store file (schedules.d/CUSTOMER.conf), as the generator and the notifier
 * read it, and what they make of every schedule in it. */

#include "fuzz.h"
#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const Customer customer = { .name = (char *) "acme", .timezone = (char *) "Europe/Berlin" };
        _cleanup_free_ char *error = NULL;
        Schedule *stored = NULL, *all = NULL;
        size_t n_stored = 0, n_all = 0;

        (void) fuzz_file("acme.conf", data, size);
        if (schedule_store_load(fuzz_tmpdir(), "acme", &stored, &n_stored, &error) < 0)
                return 0;
        if (schedule_effective(&customer, stored, n_stored, &all, &n_all) >= 0) {
                for (size_t i = 0; i < n_all; i++) {
                        _cleanup_free_ char *stem = NULL;
                        usec_t usec;
                        time_t next;

                        if (schedule_unit_stem(customer.name, &all[i], &stem) >= 0)
                                (void) schedule_unit_is_customers(stem, customer.name);
                        if (all[i].kind == SCHEDULE_ONCE)
                                (void) schedule_once_usec(&all[i], customer_zone(&customer), &usec);
                        else
                                (void) schedule_weekly_next(&all[i], customer_zone(&customer), 1700000000,
                                                            &next);
                }
                schedules_free(all, n_all);
        }
        schedules_free(stored, n_stored);
        return 0;
}
