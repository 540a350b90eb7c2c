/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The runs a reboot cut short (a maintenance killed with its host): their customers are told once,
 * by a result entry written for them, which the results' reader then delivers as any other. */

#include <systemd/sd-journal.h>

#include "interrupted.h"
#include "log.h"
#include "manager.h"
#include "results.h"
#include "run-history.h"

/* How far back to look for runs a reboot cut short: a host down longer has older news. */
#define INTERRUPTED_WINDOW_USEC (3ULL * 24 * 3600 * USEC_PER_SEC)

/* Whether a result entry of this invocation of a run exists: 1, 0 or -errno. */
static int result_written(sd_journal *j, const char *invocation) {
        _cleanup_free_ char *match = NULL;

        if (asprintf(&match, "SCHEDULER_INVOCATION=%s", invocation) < 0)
                return -ENOMEM;
        return run_history_has_in(j, "SCHEDULER_EVENT=result", match);
}

/* The result entry the run could not write, in its own words but from us: the journal follower
 * delivers it like any other, and the next look finds it and writes no second one. */
static int write_interrupted(const RunResult *s) {
        int r;

        r = sd_journal_send("MESSAGE=%s %s for %s: failure: %s (run %s, invocation %s)", strempty(s->mode),
                            s->command, s->customer, RUN_INTERRUPTED_REASON, s->run, s->invocation,
                            "PRIORITY=%i", LOG_WARNING, "SCHEDULER_EVENT=result", "SCHEDULER_CUSTOMER=%s",
                            s->customer, "SCHEDULER_COMMAND=%s", s->command, "SCHEDULER_ARGS=%s",
                            strempty(s->args), "SCHEDULER_MODE=%s", s->mode ?: "run",
                            "SCHEDULER_RESULT=failure", "SCHEDULER_REASON=%s", RUN_INTERRUPTED_REASON,
                            "SCHEDULER_REPORT=", "SCHEDULER_ROOM=%s", strempty(s->room),
                            "SCHEDULER_REPLY_TO=%s", strempty(s->reply_to), "SCHEDULER_RUN=%s", s->run,
                            "SCHEDULER_INVOCATION=%s", s->invocation, "SCHEDULER_STARTED=0", NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to write the result of the interrupted run %s: %m",
                                       s->run);
        return 0;
}

/* Whether the journal goes back to a boot before this one: its oldest entry tells. 1, 0 or -errno. */
static int journal_has_earlier_boot(sd_journal *j, sd_id128_t current) {
        sd_id128_t boot;
        int r;

        r = sd_journal_seek_head(j);
        if (r >= 0)
                r = sd_journal_next(j);
        if (r <= 0)
                return r;
        r = sd_journal_get_monotonic_usec(j, NULL, &boot);
        return r < 0 ? r : !sd_id128_equal(boot, current);
}

/* A run that started in an earlier boot and never wrote its result was cut short by a reboot (or a
 * power cut) of this host: its customer is told so, once. A clean shutdown stops it with SIGTERM,
 * which its ExecStopPost takes for a stop it was asked for and does not report. */
int interrupted_report(Manager *m) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL, *results = NULL;
        usec_t since = now_usec(CLOCK_REALTIME) - INTERRUPTED_WINDOW_USEC;
        unsigned n = 0;
        sd_id128_t boot;
        int r;

        /* This boot as the journal knows it: its newest entry's (ours, written at this start).
         * Not sd_id128_get_boot(): in a container whose /proc/sys is mounted anew
         * (ProtectKernelTunables=), that reads the host's boot id, and every run still going
         * would pass for one a reboot cut short. */
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous(j);
        if (r == 0)
                return 0;
        if (r > 0)
                r = sd_journal_get_monotonic_usec(j, NULL, &boot);
        /* The earlier boots' starts only, oldest first, up to the first of this boot's (still
         * running, or they will write their results): walking through this boot's, thousands
         * perhaps, read a page of the journal each, megabytes of it mapped at once. */
        if (r >= 0)
                r = journal_has_earlier_boot(j, boot);
        if (r <= 0) {
                if (r < 0)
                        log_warning_errno(r, "Failed to look for runs cut short by a reboot, ignoring: %m");
                return 0;
        }
        r = sd_journal_add_match(j, "SCHEDULER_EVENT=start", 0);
        if (r >= 0)
                r = sd_journal_seek_realtime_usec(j, since);
        while (r >= 0) {
                sd_id128_t entry_boot;
                RunResult s;

                r = sd_journal_next(j);
                if (r <= 0)
                        break;

                if (sd_journal_get_monotonic_usec(j, NULL, &entry_boot) < 0)
                        continue;
                if (sd_id128_equal(entry_boot, boot))
                        break;
                r = run_history_read(j, &s);
                if (r >= 0 && run_start_valid(&s) && config_find_customer(m->config, s.customer)) {
                        /* One second reader for all the lookups: opening the journal is the cost. */
                        if (!results)
                                r = sd_journal_open(&results, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
                        if (r >= 0)
                                r = result_written(results, s.invocation);
                        if (r == 0) {
                                r = write_interrupted(&s);
                                n++;
                        }
                }
                run_result_done(&s);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to look for runs cut short by a reboot, ignoring: %m");
        else if (n > 0)
                log_notice("%u run(s) were cut short by a reboot; their customers are told.", n);
        return 0;
}
