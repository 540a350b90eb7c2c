/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The journal is the queue of results: follow it from the last result the homeserver accepted,
 * and turn each new SCHEDULER_EVENT=result entry into a message to the customer's room. A running
 * maintenance's SCHEDULER_EVENT=progress entries come in the same stream, before its result, and
 * go to progress-io.c; they move no saved position. */

#include "log.h"
#include "manager.h"
#include "results.h"

#define LIST_RUNS_MAX 20
/* Progress read again after a restart is old news. */
#define PROGRESS_STALE_USEC (60ULL * USEC_PER_SEC)
/* How far back to look for runs a reboot cut short: a host down longer has older news. */
#define INTERRUPTED_WINDOW_USEC (3ULL * 24 * 3600 * USEC_PER_SEC)
/* Our entries read before the journal is opened anew (see journal_read_new()): a few times a minute
 * at most with 1,000 customers' monitoring, each a few milliseconds. */
#define JOURNAL_REOPEN_ENTRIES 100U

static int journal_open_at(Manager *m, const char *cursor);

static int read_result(sd_journal *j, RunResult *ret) {
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

static int queue_result(Manager *m, RunResult *res, const char *cursor) {
        const char *room = isempty(res->room) ? state_get_room(m->state, res->customer) : res->room;
        _cleanup_free_ char *text = NULL;
        Op *op;

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
        op = op_new(OP_SEND, room);
        if (!op || !(op->cursor = strdup(cursor)) ||
            (streq(res->command, "maintenance") && res->run && !(op->progress_run = strdup(res->run))) ||
            run_result_message(res, &text) < 0 ||
            op_make_ringing(op, res->reply_to, text, owners_of(m, res->customer)) < 0 ||
            (isempty(res->invocation) ?
                     asprintf(&op->txn_id, "result-%016llx", (unsigned long long) hash_fnv1a(cursor)) :
                     asprintf(&op->txn_id, "result-%s", res->invocation)) < 0) {
                op_free(op);
                return log_oom();
        }
        ops_queue(m, op);
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

static int journal_read_new(Manager *m) {
        _cleanup_free_ char *last = NULL;
        int r;

        while ((r = sd_journal_next(m->journal)) > 0) {
                _cleanup_free_ char *cursor = NULL;
                RunResult res;

                r = sd_journal_get_cursor(m->journal, &cursor);
                if (r < 0)
                        return log_error_errno(r, "Failed to get the journal position: %m");
                r = read_result(m->journal, &res);
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
        manager_step(m);
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
        if (r != SD_JOURNAL_NOP && journal_read_new(m) < 0)
                manager_exit(m, EXIT_FAILURE);
        return 0;
}

/* The ActiveState a PropertiesChanged of org.freedesktop.systemd1.Unit carries: 1, 0 without, or
 * -errno. systemd sends all of the interface's changing properties, ActiveState among them. */
static int changed_active_state(sd_bus_message *msg, const char **ret) {
        const char *name;
        int r;

        r = sd_bus_message_skip(msg, "s");
        if (r >= 0)
                r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        while (r > 0 && (r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &name);
                if (r >= 0 && streq(name, "ActiveState"))
                        return sd_bus_message_read(msg, "v", "s", ret);
                if (r >= 0)
                        r = sd_bus_message_skip(msg, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
        }
        return r;
}

/* The `run`s we started and wait for: their services' state changes wake us, and no other unit's.
 * dbus-daemon allows a connection 512 matches; beyond this many, a run's result comes with the
 * journal's own wake-up. */
#define RUNS_WATCHED_MAX 128U

struct RunWatch {
        Manager *manager;
        sd_bus_slot *slot;
        char *unit;
        bool began; /* left "inactive": a transient unit is new and inactive first */
        RunWatch *next;
};

static void run_watch_free(Manager *m, RunWatch *w) {
        for (RunWatch **p = &m->runs_watched; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        m->n_runs_watched--;
                        break;
                }
        sd_bus_slot_unref(w->slot);
        free(w->unit);
        free(w);
}

/* A run of ours leaves "active": its main process ended, so its result entry has most likely been
 * sent to journald, but journald wakes its readers only on a timer (250-500 ms after a write): read
 * at once, and again once the unit is inactive or failed, after its ExecStopPost; then it is no
 * longer watched. An entry journald has not taken in by then still comes with the journal's own
 * wake-up, as do the results of schedules and monitoring, which no one waits for at the screen. */
static int on_run_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        RunWatch *w = userdata;
        Manager *m = w->manager;
        const char *state = NULL;
        bool ended;

        if (changed_active_state(msg, &state) <= 0)
                return 0;
        ended = streq(state, "inactive") || streq(state, "failed");
        if (!ended)
                w->began = true;
        if (!w->began || !(ended || streq(state, "deactivating")))
                return 0;
        if (ended)
                run_watch_free(m, w);
        if (journal_read_new(m) < 0)
                manager_exit(m, EXIT_FAILURE);
        return 0;
}

/* The match is on dbus-daemon before the call that starts the unit, which comes after it on our
 * connection: no state change of the run can pass unseen. */
void journal_watch_run(Manager *m, const char *unit) {
        _cleanup_free_ char *path = NULL, *match = NULL;
        RunWatch *w;
        int r;

        if (m->n_runs_watched >= RUNS_WATCHED_MAX)
                return;
        w = calloc(1, sizeof(RunWatch));
        if (!w || !(w->unit = strdup(unit)) ||
            sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) < 0 ||
            asprintf(&match,
                     "type='signal',sender='org.freedesktop.systemd1',path='%s',"
                     "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                     "arg0='org.freedesktop.systemd1.Unit'",
                     path) < 0) {
                if (w)
                        free(w->unit);
                free(w);
                return manager_fatal_oom(m);
        }
        w->manager = m;
        r = sd_bus_add_match_async(m->bus, &w->slot, match, on_run_changed, NULL, w);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch %s (its result still comes): %m", unit);
                free(w->unit);
                free(w);
                return;
        }
        w->next = m->runs_watched;
        m->runs_watched = w;
        m->n_runs_watched++;
}

/* The run was not started after all. */
void journal_unwatch_run(Manager *m, const char *unit) {
        for (RunWatch *w = m->runs_watched; w; w = w->next)
                if (streq(w->unit, unit))
                        return run_watch_free(m, w);
}

void journal_unwatch_all(Manager *m) {
        while (m->runs_watched)
                run_watch_free(m, m->runs_watched);
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

int journal_follow(Manager *m) {
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
        return journal_read_new(m);
}

/* Whether the journal has an entry with both fields: 1, 0 or -errno. j's matches are replaced. */
static int journal_has_in(sd_journal *j, const char *match, const char *match2) {
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

static int journal_has(const char *match, const char *match2) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        return r < 0 ? r : journal_has_in(j, match, match2);
}

/* Whether a result entry of this invocation of a run exists: 1, 0 or -errno. */
static int result_written(sd_journal *j, const char *invocation) {
        _cleanup_free_ char *match = NULL;

        if (asprintf(&match, "SCHEDULER_INVOCATION=%s", invocation) < 0)
                return -ENOMEM;
        return journal_has_in(j, "SCHEDULER_EVENT=result", match);
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
int journal_report_interrupted(Manager *m) {
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
        while (r >= 0 && (r = sd_journal_next(j)) > 0) {
                sd_id128_t entry_boot;
                RunResult s;

                if (sd_journal_get_monotonic_usec(j, NULL, &entry_boot) < 0)
                        continue;
                if (sd_id128_equal(entry_boot, boot))
                        break;
                r = read_result(j, &s);
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

int journal_run_seen(const char *customer, const char *event_id) {
        _cleanup_free_ char *by = NULL, *reply_to = NULL;

        if (asprintf(&by, "SCHEDULER_CUSTOMER=%s", customer) < 0 ||
            asprintf(&reply_to, "SCHEDULER_REPLY_TO=%s", event_id) < 0)
                return -ENOMEM;
        return journal_has(reply_to, by);
}

int journal_list_runs(const char *customer, const char *zone, char **ret_text) {
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
        while (n < LIST_RUNS_MAX && (r = sd_journal_previous(j)) > 0) {
                _cleanup_free_ char *line = NULL;
                RunResult res;

                /* Monitoring's quiet pings are not runs anyone asked for. */
                if (read_result(j, &res) >= 0 && run_result_valid(&res) && streq(res.customer, customer) &&
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
