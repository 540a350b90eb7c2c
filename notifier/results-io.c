/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The journal is the queue of results: follow it from the last result the homeserver accepted,
 * and turn each new SCHEDULER_EVENT=result entry into a message to the customer's room. A running
 * maintenance's SCHEDULER_EVENT=progress entries come in the same stream, before its result, and
 * go to progress-io.c; they move no saved position. */

#include "log.h"
#include "manager.h"
#include "ops.h"
#include "alerts-io.h"
#include "progress-io.h"
#include "results-io.h"
#include "results.h"
#include "run-history.h"
#include "schedule-io.h"

/* Progress read again after a restart is old news. */
#define PROGRESS_STALE_USEC (60ULL * USEC_PER_SEC)
/* Our entries read before the journal is opened anew (see results_read_new()): a few times a minute
 * at most with 1,000 customers' monitoring, each a few milliseconds. */
#define JOURNAL_REOPEN_ENTRIES 100U
/* Delivered results whose journal position may wait for the next one's (see result_delivered()). */
#define CURSORS_UNSAVED_MAX 64U

static int journal_open_at(Manager *m, const char *cursor);

/* The last lines a run printed, oldest first: what a run that ended without a word of its own
 * (killed, crashed, timed out) last said. Only its own unit's lines; NULL if none. */
#define TAIL_LINES 5

static char *run_tail(const char *run) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match = NULL, *unit = NULL;
        char *lines[TAIL_LINES] = {}, *text = NULL;
        size_t n = 0, size = 0;
        FILE *f;

        if (isempty(run) || asprintf(&match, "SCHEDULER_RUN=%s", run) < 0 ||
            asprintf(&unit, "_SYSTEMD_UNIT=%s.service", run) < 0)
                return NULL;
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0 ||
            sd_journal_add_match(j, match, 0) < 0 || sd_journal_add_match(j, unit, 0) < 0 ||
            sd_journal_seek_tail(j) < 0)
                return NULL;
        while (n < TAIL_LINES && sd_journal_previous(j) > 0) {
                const void *d;
                size_t l;

                if (sd_journal_get_data(j, "SCHEDULER_EVENT", &d, &l) >= 0 ||
                    sd_journal_get_data(j, "MESSAGE", &d, &l) < 0)
                        continue;
                lines[n++] = strndup((const char *) d + strlen("MESSAGE="), l - strlen("MESSAGE="));
        }
        f = n > 0 ? open_memstream(&text, &size) : NULL;
        for (size_t i = n; i > 0; i--) {
                if (f && lines[i - 1])
                        fprintf(f, "%s\n", lines[i - 1]);
                free(lines[i - 1]);
        }
        if (f && fclose(f) != 0)
                return mfree(text);
        return text;
}

static char *const *owners_of(Manager *m, const char *customer) {
        const Customer *cu = config_find_customer(m->config, customer);
        return cu ? cu->owners : NULL;
}

/* Where a result's journal position is saved: once the homeserver took the result (or refused it
 * for good), and every op before it is done. While the next op delivers another result, its save
 * covers this one too. */
static void result_delivered(Manager *m, Op *op) {
        int r;

        r = state_set_journal_cursor(m->state, op->cursor);
        if (r >= 0 && (!op->next || !op->next->cursor || ++m->cursors_unsaved >= CURSORS_UNSAVED_MAX)) {
                m->cursors_unsaved = 0;
                r = state_save(m->state);
        }
        if (r < 0)
                log_error_errno(r, "Failed to save the journal position, continuing: %m");
        if (op->progress_run)
                progress_delivered(m, op->progress_run);
}

static int queue_result(Manager *m, RunResult *res, const char *cursor) {
        const char *room = isempty(res->room) ? state_get_room(m->state, res->customer) : res->room;
        _cleanup_(op_freep) Op *op = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        /* A run names the room it answers in; only one of its customer's own rooms will do. */
        if (room && !state_room_is_customers(m->state, room, res->customer)) {
                log_warning("The result of %s names room %.255s, which is not %s's; sending it to theirs.",
                            res->run, room, res->customer);
                room = state_get_room(m->state, res->customer);
                res->reply_to = mfree(res->reply_to);
        }
        if (!room) {
                log_warning("No room known for customer %s; dropping the result of %s.", res->customer,
                            res->unit);
                return 0;
        }
        if (streq_ptr(res->tail, "yes") && isempty(res->report)) {
                free(res->report);
                res->report = run_tail(res->run);
        }
        op = op_new(&op_send, room);
        if (!op)
                return log_oom();
        op->cursor = strdup(cursor);
        if (!op->cursor)
                return log_oom();
        if (streq(res->command, "maintenance") && res->run) {
                op->progress_run = strdup(res->run);
                if (!op->progress_run)
                        return log_oom();
        }
        r = run_result_message(res, &text);
        if (r >= 0)
                r = op_make_ringing(op, res->reply_to, text, owners_of(m, res->customer));
        if (r >= 0)
                r = isempty(res->invocation) ?
                            asprintf(&op->txn_id, "result-%016llx", (unsigned long long) hash_fnv1a(cursor)) :
                            asprintf(&op->txn_id, "result-%s", res->invocation);
        if (r < 0)
                return log_oom();
        op->done = result_delivered;
        ops_queue(m, TAKE_PTR(op));
        return 0;
}

/* How long after journald took an entry in we read it: its wake-ups are what this waits for. */
static void log_entry_delay(sd_journal *j, const RunResult *res) {
        uint64_t written;
        sd_id128_t boot;

        if (log_get_max_level() < LOG_DEBUG || !streq_ptr(res->event, "result") ||
            sd_journal_get_monotonic_usec(j, &written, &boot) < 0)
                return;
        log_debug("Read the result of %s %.1f ms after journald wrote it.", strempty(res->run),
                  (double) (now_usec(CLOCK_MONOTONIC) - written) / USEC_PER_MSEC);
}

/* Nothing read so far waits to be delivered: no queued op delivers a journal entry, and no
 * maintenance is being shown (its display is rebuilt from its progress entries after a start). */
static bool nothing_owed(const Manager *m) {
        if (m->progress)
                return false;
        for (const Op *op = m->ops; op; op = op->next)
                if (op->cursor)
                        return false;
        return true;
}

/* journald may not learn the unit of a process that exits right after it wrote (it reads the
 * sender's cgroup when the entry arrives): such a result counts only if its run's start entry,
 * written long before by the same invocation, came from the run's own unit. Monitoring writes no
 * start entry: its result is then left out, and the next one comes an interval later. */
static bool start_from_own_unit(const RunResult *res) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *inv = NULL, *unit = NULL;

        if (res->unit || isempty(res->run) || isempty(res->invocation) ||
            asprintf(&inv, "SCHEDULER_INVOCATION=%s", res->invocation) < 0 ||
            asprintf(&unit, "_SYSTEMD_UNIT=%s.service", res->run) < 0)
                return false;
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0 ||
            sd_journal_add_match(j, "SCHEDULER_EVENT=start", 0) < 0 || sd_journal_add_match(j, inv, 0) < 0 ||
            sd_journal_add_match(j, unit, 0) < 0 || sd_journal_seek_tail(j) < 0)
                return false;
        return sd_journal_previous(j) > 0;
}

int results_read_new(Manager *m) {
        _cleanup_free_ char *last = NULL;
        int r;

        for (;;) {
                _cleanup_free_ char *cursor = NULL;
                RunResult res;

                r = sd_journal_next(m->journal);
                if (r <= 0)
                        break;

                r = sd_journal_get_cursor(m->journal, &cursor);
                if (r < 0)
                        return log_error_errno(r, "Failed to get the journal position: %m");
                r = run_history_read(m->journal, &res);
                log_entry_delay(m->journal, &res);
                if (r >= 0 && !res.unit && streq_ptr(res.event, "result"))
                        res.start_seen = start_from_own_unit(&res);
                if (r >= 0 && streq_ptr(res.event, "progress")) {
                        if (run_progress_valid(&res) && config_find_customer(m->config, res.customer) &&
                            res.realtime + PROGRESS_STALE_USEC > now_usec(CLOCK_REALTIME))
                                progress_entry(m, &res);
                } else if (r >= 0 && !run_result_valid(&res))
                        log_warning("Ignoring a result entry not written by one of our runs (unit %s).",
                                    strempty(res.unit));
                else if (r >= 0 && streq_ptr(res.mode, "monitor"))
                        r = alerts_on_result(m, &res, cursor);
                else if (r >= 0 && config_find_customer(m->config, res.customer)) {
                        r = queue_result(m, &res, cursor);
                        if (r >= 0 && !isempty(res.schedule))
                                schedules_retire(m, res.customer, res.schedule);
                }
                run_result_done(&res);
                if (r < 0)
                        return r;
                free(last);
                last = TAKE_PTR(cursor);
                m->journal_entries++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read the journal: %m");
        if (last && free_and_strdup(&m->journal_read, last) < 0)
                return log_oom();
        /* Monitoring's results and others that ask for no message move the position on their own,
         * or a start would read them all again since the last message (a quiet week of monitoring:
         * two million entries at 1,000 customers). Saved with monitoring's memory (state_save()
         * writes that first), which a crash before the save rebuilds from the entries read again;
         * an alert it queued is kept pending in that memory until delivered. */
        if (last && nothing_owed(m) && state_set_journal_cursor(m->state, last) < 0)
                return log_oom();
        if (m->state->alerts_unsaved || m->state->unsaved)
                manager_save_soon(m);
        /* libsystemd keeps every journal file it opened, and the pages of them it read, mapped until
         * the journal is closed: following it for months would grow the notifier by the journal's
         * size. So it is opened anew after the entry last read, when files came or went (a
         * rotation) and every JOURNAL_REOPEN_ENTRIES entries read. */
        if (m->journal_entries >= JOURNAL_REOPEN_ENTRIES || (m->journal_rotated && m->journal_entries > 0)) {
                r = journal_open_at(m, m->journal_read);
                if (r < 0)
                        return r;
        }
        manager_wake(m);
        return 0;
}

static int on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = sd_journal_process(m->journal);
        if (r < 0) {
                log_error_errno(r, "Failed to follow the journal: %m");
                manager_exit(m, EXIT_FAILURE);
                return 0;
        }
        if (r == SD_JOURNAL_INVALIDATE)
                m->journal_rotated = true;
        if (r != SD_JOURNAL_NOP && results_read_new(m) < 0)
                manager_exit(m, EXIT_FAILURE);
        return 0;
}

static int on_subscribed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Failed to subscribe to systemd's signals (results still come): %s",
                            e->message);
        return 0;
}

/* After the entry at cursor (the last result delivered, or read); with none, from now (old results
 * were someone else's). */
static int journal_seek(sd_journal *j, const char *cursor) {
        int r;

        if (cursor && sd_journal_seek_cursor(j, cursor) >= 0) {
                r = sd_journal_next(j);
                /* The entry itself is gone (rotated away): what we landed on is not yet read. */
                if (r > 0 && sd_journal_test_cursor(j, cursor) <= 0)
                        (void) sd_journal_previous(j);
                return 0;
        }
        r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        (void) sd_journal_previous(j);
        return 0;
}

/* The journal, our entries in it, from after cursor, watched for more. */
static int journal_open_at(Manager *m, const char *cursor) {
        sd_journal *j = NULL;
        int r, fd;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return log_error_errno(r, "Failed to open the journal: %m");
        r = sd_journal_add_match(j, "SCHEDULER_EVENT=result", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "SCHEDULER_EVENT=progress", 0);
        if (r >= 0)
                r = journal_seek(j, cursor);
        if (r < 0) {
                sd_journal_close(j);
                return log_error_errno(r, "Failed to find our position in the journal: %m");
        }
        fd = sd_journal_get_fd(j);
        if (fd < 0) {
                sd_journal_close(j);
                return log_error_errno(fd, "Failed to watch the journal: %m");
        }
        m->journal_source = sd_event_source_disable_unref(m->journal_source);
        sd_journal_close(m->journal);
        m->journal = j;
        m->journal_entries = 0;
        m->journal_rotated = false;
        r = sd_event_add_io(m->event, &m->journal_source, fd, (uint32_t) sd_journal_get_events(j),
                            on_journal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the journal: %m");
        (void) sd_event_source_set_description(m->journal_source, "journal");
        if (m->quitting) /* as on_signal() left the one before */
                (void) sd_event_source_set_enabled(m->journal_source, SD_EVENT_OFF);
        log_debug("Opened the journal, reading after %s.", cursor ?: "its end");
        return 0;
}

int results_follow(Manager *m) {
        int r;

        r = journal_open_at(m, m->state->journal_cursor);
        if (r < 0)
                return r;
        /* systemd sends its units' signals only once a client has subscribed; dbus-daemon passes on
         * only those of the runs we watch. */
        r = sd_bus_call_method_async(m->bus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "Subscribe", on_subscribed, NULL,
                                     NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to subscribe to systemd's signals (results still come): %m");
        /* Results written while we were away. */
        return results_read_new(m);
}
