/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What any of the notifier's modules may ask of the loop: wake it, save the state soon, stop it.
 * The loop itself, which steps the lanes when woken, is loop.c. */

#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"

/* A burst of 1,000 monitoring results trickles in over minutes: monitoring.json (most of a
 * megabyte then) is written a few dozen times instead of once per journal batch and alert. */
#define SAVE_SOON_USEC (5ULL * USEC_PER_SEC)

void manager_wake(Manager *m) {
        int r;

        r = sd_event_source_set_enabled(m->wake, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to wake the loop: %m");
                manager_exit(m, EXIT_FAILURE);
        }
}

void manager_exit(Manager *m, int code) {
        int r;

        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save %s: %m", m->state->path);
        (void) sd_notify(false, "STOPPING=1");
        (void) sd_event_exit(m->event, code);
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save the state, continuing (a later save tries again): %m");
        return 0;
}

void manager_save_soon(Manager *m) {
        int r;

        if (sd_event_source_get_enabled(m->save_timer, NULL) > 0)
                return;
        r = m->save_timer ? sd_event_source_set_time_relative(m->save_timer, SAVE_SOON_USEC)
                          : sd_event_add_time_relative(m->event, &m->save_timer, CLOCK_MONOTONIC,
                                                       SAVE_SOON_USEC, 0, on_save_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->save_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the save timer, saving now: %m");
                (void) on_save_timer(m->save_timer, 0, m);
        }
}

void manager_fatal_oom(Manager *m) {
        (void) log_oom();
        manager_exit(m, EXIT_FAILURE);
}
