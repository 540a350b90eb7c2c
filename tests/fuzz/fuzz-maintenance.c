/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A maintenance's output (the operator's command or the script over SSH): cut into lines, each
 * read for a step or a notice, the last lines kept for the report, the steps throttled. */

#include "fuzz.h"
#include "maintenance.h"

typedef struct Seen {
        LastLines last;
        StepThrottle throttle;
        usec_t now;
} Seen;

static void on_line(const char *line, void *userdata) {
        Seen *s = userdata;
        _cleanup_free_ char *notice = NULL;
        char *step = NULL;

        if (maintenance_step_parse(line, &step) > 0)
                step_throttle_set(&s->throttle, step);
        (void) maintenance_notice_parse(line, &notice);
        (void) last_lines_push(&s->last, line);
        s->now += USEC_PER_SEC;
        (void) step_throttle_due(&s->throttle, s->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Seen seen = { .now = 1 };
        LineSplitter *splitter = calloc(1, sizeof(LineSplitter));
        _cleanup_free_ char *report = NULL;
        size_t report_size = 0;
        FILE *f;

        if (!splitter)
                return 0;
        splitter->on_line = on_line;
        splitter->userdata = &seen;
        /* In uneven pieces, the way a pipe hands it over. */
        for (size_t at = 0, n = 1; at < size; at += n, n = n * 3 + 1)
                line_splitter_feed(splitter, (const char *) data + at, MIN(n, size - at));
        line_splitter_flush(splitter);
        f = open_memstream(&report, &report_size);
        if (f) {
                last_lines_write(f, &seen.last);
                fclose(f);
        }
        last_lines_done(&seen.last);
        step_throttle_done(&seen.throttle);
        free(splitter);
        return 0;
}
