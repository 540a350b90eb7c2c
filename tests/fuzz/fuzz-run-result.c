/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A journal entry as the notifier reads it: "FIELD=value" data, here separated by NUL bytes (a
 * journal field may hold newlines), checked and turned into the customer's message and list line
 * the way results-io.c does. */

#include <string.h>

#include "fuzz.h"
#include "results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(run_result_done) RunResult r = { .realtime = 1700000000ULL * USEC_PER_SEC };
        _cleanup_free_ char *message = NULL, *line = NULL;
        const char *p = (const char *) data, *end = p + size;

        while (p < end) {
                const char *nul = memchr(p, 0, (size_t) (end - p));
                size_t n = nul ? (size_t) (nul - p) : (size_t) (end - p);

                if (run_result_set_field(&r, p, n) < 0)
                        return 0;
                p += n + 1;
        }
        (void) run_result_success(&r);
        if (run_progress_valid(&r) || run_start_valid(&r))
                return 0;
        if (!run_result_valid(&r))
                return 0;
        (void) run_result_message(&r, &message);
        (void) run_result_list_line(&r, "Europe/Berlin", &line);
        return 0;
}
