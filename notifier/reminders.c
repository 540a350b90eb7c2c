/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A reminder before each customer's weekly maintenance, [scheduler] maintenance_reminder ahead
 * (off by default). One timer for the earliest one due; the maintenance a customer was reminded
 * of is kept in state.json, so a restart does not remind twice. A notifier that starts (or a
 * maintenance moved) inside the reminder's window reminds at once, unless the maintenance is less
 * than a minute away. */

#include "reminders.h"
#include "alerts-io.h"
#include "calendar.h"
#include "log.h"
#include "manager.h"
#include "schedule-io.h"

#define TOO_LATE_SEC 60

static int on_reminder_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) reminders_arm(m);
        manager_wake(m);
        return 0;
}

static int remind(Manager *m, const Customer *cu, time_t when) {
        _cleanup_free_ char *text = NULL, *id = NULL;
        json_t *memory = state_get_alerts(m->state, cu->name);
        char local[32];
        long hours = (long) ((when - time(NULL) + 1800) / 3600);
        int r;

        if (!memory)
                return log_oom();
        if (json_integer_value(json_object_get(memory, "reminded")) == (json_int_t) when)
                return 0;
        if (zone_format(customer_zone(cu), when, local, sizeof(local)) < 0)
                snprintf(local, sizeof(local), "soon");
        if (hours >= 1)
                r = asprintf(&text,
                             "⏰ Reminder: the weekly maintenance of %s starts %s (%s), in about %ld hour%s. "
                             "Services restart during it. To skip this one: `pause maintenance` (and "
                             "`resume maintenance` after); to move it: `recurring maintenance WEEKDAY HH:MM`.",
                             cu->domain, local, customer_zone(cu), hours, hours == 1 ? "" : "s");
        else
                r = asprintf(&text,
                             "⏰ Reminder: the weekly maintenance of %s starts %s (%s), in less than an hour. "
                             "Services restart during it. To skip this one: `pause maintenance`.",
                             cu->domain, local, customer_zone(cu));
        if (r < 0 || asprintf(&id, "reminder-%s-%lld", cu->name, (long long) when) < 0)
                return log_oom();
        log_info("Reminding %s of the maintenance at %s.", cu->name, local);
        if (json_object_set_new(memory, "reminded", json_integer((json_int_t) when)) < 0)
                return log_oom();
        /* Saved with the reminder pending in it: "reminded" alone, and a crash before it is
         * sent, would lose it. */
        r = alerts_queue_message(m, cu, text, id, NULL);
        if (r < 0)
                return r;
        r = state_save_alerts(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save the reminder, continuing: %m");
        return 0;
}

/* Queues what is due and sets the timer; the caller steps the manager (from a /sync batch, the
 * batch's own processing does, so its position is saved only after its ops). */
int reminders_arm(Manager *m) {
        time_t now = time(NULL), ahead = (time_t) m->config->maintenance_reminder, earliest = 0;
        int r;

        if (ahead == 0)
                return 0;
        for (size_t i = 0; i < m->config->n_customers; i++) {
                const Customer *cu = &m->config->customers[i];
                time_t next, due;

                if (schedules_next_maintenance(m, cu, now, &next) < 0)
                        continue;   /* none active, or logged */
                due = next - ahead;
                if (due <= now) {
                        if (next - now >= TOO_LATE_SEC) {
                                r = remind(m, cu, next);
                                if (r < 0)
                                        return r;
                        }
                        /* Then the one after it. */
                        if (schedules_next_maintenance(m, cu, next, &next) < 0)
                                continue;
                        due = next - ahead;
                }
                if (earliest == 0 || due < earliest)
                        earliest = due;
        }
        if (earliest == 0)
                return 0;
        if (!m->reminder_timer) {
                r = sd_event_add_time(m->event, &m->reminder_timer, CLOCK_REALTIME, 0, USEC_PER_SEC,
                                      on_reminder_timer, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the reminder timer: %m");
                (void) sd_event_source_set_description(m->reminder_timer, "reminders");
        }
        r = sd_event_source_set_time(m->reminder_timer, (uint64_t) earliest * USEC_PER_SEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->reminder_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "Failed to set the reminder timer: %m");
        return 0;
}
