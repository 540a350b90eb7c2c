/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A customer's schedules as the notifier keeps them: the store (schedule.c's format, in
 * schedules.d/), and what systemd is told: the ops that start and stop a schedule's timer, and the
 * one that asks systemd for the timers' next elapse (list schedules). */

#include <time.h>

#include "bus-unit.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "schedule-io.h"
#include "schedule.h"
#include "services.h"

void schedules_done(Schedules *s) {
        schedules_free(s->stored, s->n_stored);
        schedules_free(s->all, s->n_all);
        *s = (Schedules) {};
}

int schedules_load(Manager *m, const Customer *cu, Schedules *ret) {
        _cleanup_free_ char *error = NULL;
        Schedules s = {};
        int r;

        r = schedule_store_load_ids(m->config->schedules_dir, cu->name, &s.stored, &s.n_stored, &s.next_id,
                                    &error);
        if (r < 0)
                return log_error_errno(r, "Failed to load the schedules of %s: %s", cu->name,
                                       error ?: "out of memory");
        r = schedule_effective(cu, s.stored, s.n_stored, &s.all, &s.n_all);
        if (r < 0) {
                schedules_done(&s);
                return log_oom();
        }
        *ret = s;
        return 0;
}

int schedules_save(Manager *m, const Customer *cu, const Schedules *s) {
        int r;

        r = schedule_store_save_ids(m->config->schedules_dir, cu->name, s->stored, s->n_stored, s->next_id);
        if (r < 0)
                return log_error_errno(r, "Failed to save the schedules of %s to %s: %m", cu->name,
                                       m->config->schedules_dir);
        return 0;
}

int schedules_add(Schedules *s, const Schedule *add) {
        Schedule *n = reallocarray(s->stored, s->n_stored + 1, sizeof(Schedule));

        if (!n)
                return -ENOMEM;
        s->stored = n;
        if (schedule_copy(add, &n[s->n_stored]) < 0)
                return -ENOMEM;
        n[s->n_stored].builtin = false;
        /* A new one gets its id; one that changes (paused, resumed, cancelled) keeps it. */
        if (n[s->n_stored].id == 0)
                n[s->n_stored].id = schedule_next_id(s->stored, s->n_stored, &s->next_id, &n[s->n_stored]);
        s->n_stored++;
        return 0;
}

void schedules_remove(Schedules *s, size_t i) {
        schedule_done(&s->stored[i]);
        memmove(s->stored + i, s->stored + i + 1, (s->n_stored - i - 1) * sizeof(Schedule));
        s->n_stored--;
}

ssize_t schedules_find_weekly(const Schedule *l, size_t n, const char *command) {
        for (size_t i = 0; i < n; i++)
                if (l[i].kind == SCHEDULE_WEEKLY && streq(l[i].command, command))
                        return (ssize_t) i;
        return -1;
}

void schedules_retire(Manager *m, const char *customer, const char *stem) {
        const Customer *cu = config_find_customer(m->config, customer);
        _cleanup_(schedules_done) Schedules all = {};
        bool changed = false;

        if (!cu || schedules_load(m, cu, &all) < 0)
                return;
        for (size_t i = 0; i < all.n_stored; i++) {
                _cleanup_free_ char *other = NULL;

                if (all.stored[i].kind != SCHEDULE_ONCE ||
                    schedule_unit_stem(customer, &all.stored[i], &other) < 0)
                        continue;
                if (streq(other, stem)) {
                        schedules_remove(&all, i--);
                        changed = true;
                }
        }
        if (changed)
                (void) schedules_save(m, cu, &all);
}

static void units_failed(Op *op, const char *what, const sd_bus_error *e) {
        log_error("systemd refused to %s: %s", what, e->message);
        if (!op->failure && asprintf(&op->failure, "%s But systemd refused to %s (%s); we have been told.",
                                     op->text, what, e->message) < 0)
                op->failure = NULL;
}

static int on_unit_job(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Op *op = m->ops;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        if (op->timer) {
                /* A unit of that name is loaded already (the generator made it at boot, or a stopped
                 * one lingers): start that one, it is the same unit. */
                if (e && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists"))
                        op->existing = strdup(op->timer->name);
                else if (e)
                        units_failed(op, "start the timer", e);
                unit_spec_done(op->timer);
                unit_spec_done(op->service);
                op->timer = mfree(op->timer);
                op->service = mfree(op->service);
        } else if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                units_failed(op, "change a timer", e);
        manager_wake(m);
        return 0;
}

static int call_job(Manager *m, const char *method, const char *unit) {
        return sd_bus_call_method_async(m->bus, &m->send.slot, "org.freedesktop.systemd1",
                                        "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                        method, on_unit_job, m, "ss", unit, "replace");
}

static void units_step(Manager *m, Op *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_free_ char *existing = NULL;
        int r;

        if (op->timer) {
                r = bus_message_start_transient(m->bus, op->timer, op->service, &msg);
                if (r >= 0)
                        r = sd_bus_call_async(m->bus, &m->send.slot, msg, on_unit_job, m, 0);
        } else if (op->existing) {
                existing = TAKE_PTR(op->existing);
                r = call_job(m, "StartUnit", existing);
        } else if (op->stop && op->stop[op->step])
                r = call_job(m, "StopUnit", op->stop[op->step++]);
        else if (op->silent) {
                ops_done(m);
                return;
        } else {
                (void) op_finish_with_reply(m, op, op->failure ?: op->text);
                return;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to talk to systemd: %m");
                (void) op_finish_with_reply(m, op,
                                            "Your schedule is saved, but systemd could not be told; it "
                                            "takes effect at the next boot. We have been told.");
        }
}

static int on_timers_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Op *op = m->ops;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_error("Failed to list the timers of %s: %s", op->customer,
                          sd_bus_message_get_error(reply)->message);
                return op_finish_with_reply(m, op,
                                            "Your schedules cannot be read right now; we have been told.");
        }
        if (bus_read_schedule_timers(reply, op->customer, &op->timers) < 0)
                return manager_fatal_oom(m), 0;
        manager_wake(m);
        return 0;
}

/* "scheduler-acme-restart-at-…" → "restart" and whether it is weekly. */
static int command_of(const char *unit, const char *customer, char **ret, bool *ret_weekly) {
        const char *tail = unit + strlen("scheduler-") + strlen(customer) + 1;
        size_t n = strspn(tail, "abcdefghijklmnopqrstuvwxyz");

        *ret_weekly = startswith(tail + n, "-weekly-");
        *ret = strndup(tail, n);
        return *ret ? 0 : -ENOMEM;
}

static int on_elapse(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Op *op = m->ops;
        const char *unit = op->timers[2 * op->step];
        uint64_t next = 0;
        char *line;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        op->step++;
        /* Elapsed for good, or never: nothing to list. */
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "v", "t", &next) < 0 ||
            next == 0 || next == UINT64_MAX)
                return manager_wake(m), 0;
        /* Fixed-width time first, so the lines sort by it. */
        if (asprintf(&line, "%020llu %s", (unsigned long long) next, unit) < 0)
                return manager_fatal_oom(m), 0;
        if (strv_push(&op->lines, line) < 0) {
                free(line);
                return manager_fatal_oom(m), 0;
        }
        manager_wake(m);
        return 0;
}

static int compare_lines(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The arguments and the id are not in a unit's name; the store has them. */
static const Schedule *schedule_of(const Customer *cu, const Schedules *all, const char *unit) {
        for (size_t i = 0; i < all->n_all; i++) {
                _cleanup_free_ char *stem = NULL;

                if (schedule_unit_stem(cu->name, &all->all[i], &stem) >= 0 && startswith(unit, stem) &&
                    streq(unit + strlen(stem), ".timer"))
                        return &all->all[i];
        }
        return NULL;
}

/* "* #4 2027-01-08 17:00: run restart slack (recurring)", from "<next µs> <unit>". */
static int list_line(FILE *f, const Customer *cu, const Schedules *all, const char *line) {
        _cleanup_free_ char *command = NULL;
        const char *unit = line + 21;
        const Schedule *s = schedule_of(cu, all, unit);
        const char *args = s ? s->args : NULL;
        char when[32], id[16] = "";
        bool weekly;

        if (command_of(unit, cu->name, &command, &weekly) < 0)
                return -ENOMEM;
        if (zone_format(customer_zone(cu), (time_t) (strtoull(line, NULL, 10) / USEC_PER_SEC), when,
                        sizeof(when)) < 0)
                return 0;
        if (s && s->id > 0)
                snprintf(id, sizeof(id), "#%u ", s->id);
        fprintf(f, "* %s%s: run %s%s%s%s\n", id, when, command, args ? " " : "", strempty(args),
                weekly ? " (recurring)" : "");
        return 0;
}

static void list_finish(Manager *m, Op *op) {
        const Customer *cu = config_find_customer(m->config, op->customer);
        _cleanup_(schedules_done) Schedules all = {};
        _cleanup_free_ char *text = NULL;
        size_t size = 0, n = strv_length(op->lines);
        FILE *f;

        if (n == 0 || !cu) {
                (void) op_finish_with_reply(m, op, "No schedules; try `schedule ping 2027-01-08 17:00` or "
                                                   "`recurring maintenance Friday 15:00`");
                return;
        }
        (void) schedules_load(m, cu, &all);   /* without it, the lines just lack restart's service */
        qsort(op->lines, n, sizeof(char *), compare_lines);
        f = open_memstream(&text, &size);
        if (!f)
                return manager_fatal_oom(m);
        for (size_t i = 0; i < n; i++)
                if (list_line(f, cu, &all, op->lines[i]) < 0) {
                        fclose(f);
                        return manager_fatal_oom(m);
                }
        if (fclose(f) != 0)
                return manager_fatal_oom(m);
        if (size > 0 && text[size - 1] == '\n')
                text[size - 1] = 0;
        (void) op_finish_with_reply(m, op, text);
}

static void list_step(Manager *m, Op *op) {
        _cleanup_free_ char *pattern = NULL;
        int r;

        if (op->timers && !op->timers[2 * op->step])
                return list_finish(m, op);
        if (op->timers)
                r = sd_bus_call_method_async(m->bus, &m->send.slot, "org.freedesktop.systemd1",
                                             op->timers[2 * op->step + 1], "org.freedesktop.DBus.Properties",
                                             "Get", on_elapse, m, "ss", "org.freedesktop.systemd1.Timer",
                                             "NextElapseUSecRealtime");
        else if (asprintf(&pattern, "scheduler-%s-*.timer", op->customer) < 0)
                return manager_fatal_oom(m);
        else
                r = bus_list_units_async(m->bus, &m->send.slot, NULL, STRV_MAKE(pattern), on_timers_listed,
                                         m);
        if (r < 0) {
                log_error_errno(r, "Failed to ask systemd for the timers of %s: %m", op->customer);
                (void) op_finish_with_reply(m, op,
                                            "Your schedules cannot be read right now; we have been told.");
        }
}

const OpType op_schedule_units = { .name = "change the timers for", .step = units_step };
const OpType op_list_schedules = { .name = "list the timers for", .step = list_step };

int schedules_next_maintenance(Manager *m, const Customer *cu, time_t after, time_t *ret) {
        _cleanup_(schedules_done) Schedules all = {};
        ssize_t i;
        int r;

        r = schedules_load(m, cu, &all);
        if (r < 0)
                return r;
        i = schedules_find_weekly(all.all, all.n_all, "maintenance");
        if (i < 0 || all.all[i].state != SCHEDULE_ACTIVE)
                return -ENOENT;
        return schedule_weekly_next(&all.all[i], customer_zone(cu), after, ret);
}
