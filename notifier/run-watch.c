/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The `run`s the notifier started and a customer waits for at the screen: the end of each wakes the
 * results' reader at once (results-io.c), rather than journald's own wake-up a while later. */

#include "log.h"
#include "manager.h"
#include "results-io.h"
#include "run-watch.h"

/* The ActiveState a PropertiesChanged of org.freedesktop.systemd1.Unit carries: 1, 0 without, or
 * -errno. systemd sends all of the interface's changing properties, ActiveState among them. */
static int changed_active_state(sd_bus_message *msg, const char **ret) {
        const char *name;
        int r;

        r = sd_bus_message_skip(msg, "s");
        if (r >= 0)
                r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        while (r > 0) {
                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r <= 0)
                        break;
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

/* A watch not yet on the list: its slot and itself. */
static RunWatch *run_watch_free_unlisted(RunWatch *w) {
        sd_bus_slot_unref(w->slot);
        free(w->unit);
        return mfree(w);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RunWatch *, run_watch_free_unlisted);

static void run_watch_free(Manager *m, RunWatch *w) {
        for (RunWatch **p = &m->runs_watched; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        m->n_runs_watched--;
                        break;
                }
        run_watch_free_unlisted(w);
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
        if (results_read_new(m) < 0)
                manager_exit(m, EXIT_FAILURE);
        return 0;
}

/* The match is on dbus-daemon before the call that starts the unit, which comes after it on our
 * connection: no state change of the run can pass unseen. */
void run_watch(Manager *m, const char *unit) {
        _cleanup_free_ char *path = NULL, *match = NULL;
        _cleanup_(run_watch_free_unlistedp) RunWatch *w = NULL;
        int r;

        if (m->n_runs_watched >= RUNS_WATCHED_MAX)
                return;
        w = calloc(1, sizeof(RunWatch));
        if (!w)
                return manager_fatal_oom(m);
        w->unit = strdup(unit);
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r >= 0)
                r = asprintf(&match,
                             "type='signal',sender='org.freedesktop.systemd1',path='%s',"
                             "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                             "arg0='org.freedesktop.systemd1.Unit'",
                             path);
        if (r < 0 || !w->unit)
                return manager_fatal_oom(m);
        w->manager = m;
        r = sd_bus_add_match_async(m->bus, &w->slot, match, on_run_changed, NULL, w);
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to watch %s (its result still comes): %m", unit);
        w->next = m->runs_watched;
        m->runs_watched = TAKE_PTR(w);
        m->n_runs_watched++;
}

/* The run was not started after all. */
void run_unwatch(Manager *m, const char *unit) {
        for (RunWatch *w = m->runs_watched; w; w = w->next)
                if (streq(w->unit, unit))
                        return run_watch_free(m, w);
}

void run_unwatch_all(Manager *m) {
        while (m->runs_watched)
                run_watch_free(m, m->runs_watched);
}
