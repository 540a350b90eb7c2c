/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What ran, as the journal tells it: `list runs`, and whether a command already ran (a batch that
 * repeats after a crash). */

#include <systemd/sd-journal.h>

#include "log.h"
#include "results.h"
#include "run-history.h"

#define LIST_RUNS_MAX 20

int run_history_read(sd_journal *j, RunResult *ret) {
        const void *data;
        size_t size;
        uint64_t realtime;
        int r;

        *ret = (RunResult) {};
        SD_JOURNAL_FOREACH_DATA(j, data, size) {
                r = run_result_set_field(ret, data, size);
                if (r < 0)
                        return r;
        }
        if (sd_journal_get_realtime_usec(j, &realtime) >= 0)
                ret->realtime = realtime;
        return 0;
}

/* Whether the journal has an entry with both fields: 1, 0 or -errno. j's matches are replaced. */
int run_history_has_in(sd_journal *j, const char *match, const char *match2) {
        int r;

        sd_journal_flush_matches(j);
        r = sd_journal_add_match(j, match, 0);
        if (r >= 0)
                r = sd_journal_add_match(j, match2, 0);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous(j);
        return r < 0 ? r : r > 0;
}

static int run_history_has(const char *match, const char *match2) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        return r < 0 ? r : run_history_has_in(j, match, match2);
}

int run_history_seen(const char *customer, const char *event_id) {
        _cleanup_free_ char *by = NULL, *reply_to = NULL;

        if (asprintf(&by, "SCHEDULER_CUSTOMER=%s", customer) < 0 ||
            asprintf(&reply_to, "SCHEDULER_REPLY_TO=%s", event_id) < 0)
                return -ENOMEM;
        return run_history_has(reply_to, by);
}

int run_history_list(const char *customer, const char *zone, char **ret_text) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match = NULL, *text = NULL;
        size_t size = 0, n = 0;
        FILE *f;
        int r;

        if (asprintf(&match, "SCHEDULER_CUSTOMER=%s", customer) < 0)
                return -ENOMEM;
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r >= 0)
                r = sd_journal_add_match(j, "SCHEDULER_EVENT=result", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, match, 0);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        while (n < LIST_RUNS_MAX) {
                _cleanup_free_ char *line = NULL;
                RunResult res;

                r = sd_journal_previous(j);
                if (r <= 0)
                        break;

                /* Monitoring's quiet pings are not runs anyone asked for. */
                if (run_history_read(j, &res) >= 0 && run_result_valid(&res) && streq(res.customer, customer) &&
                    !streq_ptr(res.mode, "monitor") &&
                    run_result_list_line(&res, zone, &line) >= 0) {
                        fprintf(f, "%s%s", n > 0 ? "\n" : "", line);
                        n++;
                }
                run_result_done(&res);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        if (n == 0)
                return (*ret_text = strdup("No runs yet; try `run ping`.")) ? 0 : -ENOMEM;
        *ret_text = TAKE_PTR(text);
        return 0;
}
