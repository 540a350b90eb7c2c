/* SPDX-License-Identifier: GPL-3.0-or-later */

/* schedule, recurring, cancel, pause, resume: the store is changed first (atomically), then
 * systemd is told (an OP_UNITS op: start the new timer, stop the old one), then the customer.
 * list schedules asks systemd for the timers' next elapse; list recurring reads the store. */

#include <time.h>

#include "calendar.h"

#include "bus-unit.h"
#include "log.h"
#include "manager.h"
#include "reply.h"
#include "schedule.h"
#include "services.h"

#define YEARS_AHEAD 2

void schedules_done(Schedules *s) {
        schedules_free(s->stored, s->n_stored);
        schedules_free(s->all, s->n_all);
        *s = (Schedules) {};
}

int schedules_load(Manager *m, const Customer *cu, Schedules *ret) {
        _cleanup_free_ char *error = NULL;
        Schedules s = {};
        int r;

        r = schedule_store_load(m->config->schedules_dir, cu->name, &s.stored, &s.n_stored, &error);
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

static int schedules_save(Manager *m, const Customer *cu, const Schedules *s) {
        int r;

        r = schedule_store_save(m->config->schedules_dir, cu->name, s->stored, s->n_stored);
        if (r < 0)
                return log_error_errno(r, "Failed to save the schedules of %s to %s: %m", cu->name,
                                       m->config->schedules_dir);
        return 0;
}

static int reply_not_saved_to(Manager *m, const SyncMessage *msg, int error, const char *what) {
        _cleanup_free_ char *text = NULL;

        if (reply_not_saved(error, what, &text) < 0)
                return log_oom();
        return handler_queue_reply(m, msg, text);
}

/* Appends a copy of s to the store (in memory). */
static int store_add(Schedules *s, const Schedule *add) {
        Schedule *n = reallocarray(s->stored, s->n_stored + 1, sizeof(Schedule));

        if (!n)
                return -ENOMEM;
        s->stored = n;
        if (schedule_copy(add, &n[s->n_stored]) < 0)
                return -ENOMEM;
        n[s->n_stored].builtin = false;
        s->n_stored++;
        return 0;
}

static void store_remove(Schedules *s, size_t i) {
        schedule_done(&s->stored[i]);
        memmove(s->stored + i, s->stored + i + 1, (s->n_stored - i - 1) * sizeof(Schedule));
        s->n_stored--;
}

/* The weekly schedule of a command, in the store, or -1. */
static ssize_t find_weekly(const Schedule *l, size_t n, const char *command) {
        for (size_t i = 0; i < n; i++)
                if (l[i].kind == SCHEDULE_WEEKLY && streq(l[i].command, command))
                        return (ssize_t) i;
        return -1;
}

static int unit_name(const char *customer, const Schedule *s, const char *suffix, char **ret) {
        _cleanup_free_ char *stem = NULL;

        if (schedule_unit_stem(customer, s, &stem) < 0 || asprintf(ret, "%s%s", stem, suffix) < 0)
                return -ENOMEM;
        return 0;
}

/* The op that tells systemd: start start's timer (if any), stop the unit named stop (if any). */
static int queue_units(Manager *m, const Customer *cu, const SyncMessage *msg, const Schedule *start,
                       const Schedule *stop, const char *text) {
        Op *op = handler_op_for(msg, OP_UNITS);
        _cleanup_free_ char *name = NULL;

        if (!op || !(op->text = strdup(text)) || !(op->event_id = strdup(msg->event_id)))
                goto oom;
        if (start) {
                op->timer = calloc(1, sizeof(UnitSpec));
                op->service = calloc(1, sizeof(UnitSpec));
                if (!op->timer || !op->service ||
                    unit_render_schedule(cu, start, now_usec(CLOCK_REALTIME), op->timer, op->service) < 0)
                        goto oom;
        }
        if (stop && (unit_name(cu->name, stop, ".timer", &name) < 0 || strv_push(&op->stop, name) < 0))
                goto oom;
        TAKE_PTR(name);
        ops_queue(m, op);
        return 0;
oom:
        op_free(op);
        return log_oom();
}

static Schedule schedule_from_command(const Command *c, const SyncMessage *msg) {
        return (Schedule) {
                .kind = c->mode == MODE_RECURRING ? SCHEDULE_WEEKLY : SCHEDULE_ONCE,
                .command = (char *) task_kind_to_string(c->task),
                .args = c->task == TASK_RESTART ? (char *) c->service : NULL,
                .year = c->year, .month = c->month, .day = c->day,
                .weekday = c->weekday, .hour = c->hour, .minute = c->minute,
                .room = msg->room_id,
                .reply_to = msg->event_id,
        };
}

static size_t count_pending(const Schedules *s) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_stored; i++)
                n += s->stored[i].state != SCHEDULE_CANCELLED;
        return n;
}

/* Why this one-shot cannot be, for the customer; 0 and NULL if it can. */
static int check_once(const Schedule *s, const char *zone, char **ret_why) {
        usec_t due, now = now_usec(CLOCK_REALTIME);
        char when[32];
        int year;

        *ret_why = NULL;
        if (schedule_once_usec(s, zone, &due) < 0)
                return asprintf(ret_why, "%04d-%02d-%02d %02d:%02d does not exist in %s", s->year, s->month,
                                s->day, s->hour, s->minute, zone);
        if (zone_format(zone, (time_t) (now / USEC_PER_SEC), when, sizeof(when)) < 0)
                return asprintf(ret_why, "the time in %s cannot be told", zone);
        if (due <= now)
                return asprintf(ret_why, "%04d-%02d-%02d %02d:%02d %s is in the past; it is now %s %s",
                                s->year, s->month, s->day, s->hour, s->minute, zone, when, zone);
        year = atoi(when);
        if (s->year > year + YEARS_AHEAD)
                return asprintf(ret_why, "schedules go at most %i years ahead, to the end of %i",
                                YEARS_AHEAD, year + YEARS_AHEAD);
        return 0;
}

static int reply_why(Manager *m, const SyncMessage *msg, char *why) {
        _cleanup_free_ char *text = why;

        if (!text)
                return log_oom();
        text[0] = (char) (text[0] >= 'a' && text[0] <= 'z' ? text[0] - 'a' + 'A' : text[0]);
        return handler_queue_reply(m, msg, text);
}

static int handle_schedule(Manager *m, const Customer *cu, const SyncMessage *msg, const Schedule *s) {
        _cleanup_(schedules_done) Schedules all = {};
        _cleanup_free_ char *why = NULL, *stem = NULL, *old_stem = NULL;
        const Schedule *stop = NULL;
        int r;

        if (s->kind == SCHEDULE_ONCE && check_once(s, customer_zone(cu), &why) != 0)
                return reply_why(m, msg, TAKE_PTR(why));
        if (schedules_load(m, cu, &all) < 0)
                return handler_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        if (schedule_unit_stem(cu->name, s, &stem) < 0)
                return log_oom();
        /* The same one-shot again replaces itself; a weekly one replaces the command's weekly one. */
        for (size_t i = 0; s->kind == SCHEDULE_ONCE && i < all.n_stored; i++) {
                _cleanup_free_ char *other = NULL;

                if (schedule_unit_stem(cu->name, &all.stored[i], &other) < 0)
                        return log_oom();
                if (streq(other, stem))
                        store_remove(&all, i--);
        }
        if (count_pending(&all) >= SCHEDULES_MAX)
                return handler_queue_reply(m, msg,
                                           "You have 50 pending schedules, the most there can be; cancel "
                                           "one first (see `list schedules`)");
        if (s->kind == SCHEDULE_WEEKLY) {
                ssize_t old = find_weekly(all.all, all.n_all, s->command),
                        k = find_weekly(all.stored, all.n_stored, s->command);

                if (old >= 0 && all.all[old].state == SCHEDULE_ACTIVE) {
                        if (schedule_unit_stem(cu->name, &all.all[old], &old_stem) < 0)
                                return log_oom();
                        /* The same slot again: its timer is the new one, keep it. */
                        stop = streq(old_stem, stem) ? NULL : &all.all[old];
                }
                if (k >= 0)
                        store_remove(&all, (size_t) k);
        }
        if (store_add(&all, s) < 0)
                return log_oom();
        r = schedules_save(m, cu, &all);
        if (r < 0)
                return reply_not_saved_to(m, msg, r, "was scheduled");
        return queue_units(m, cu, msg, s, stop,
                           s->kind == SCHEDULE_WEEKLY ? "Recurring schedule configured."
                                                      : "Command scheduled.");
}

/* "`recurring maintenance` (every Friday 15:00)" / "`schedule restart slack` (at 2027-01-08 17:00)" */
static char *describe(const Schedule *s) {
        _cleanup_free_ char *when = NULL;
        char *t;

        if (schedule_when_string(s, &when) < 0 ||
            asprintf(&t, "`%s %s%s%s` (%s %s)", s->kind == SCHEDULE_WEEKLY ? "recurring" : "schedule",
                     s->command, s->args ? " " : "", strempty(s->args),
                     s->kind == SCHEDULE_WEEKLY ? "every" : "at", when) < 0)
                return NULL;
        return t;
}

static int cancel_once(Manager *m, const Customer *cu, const SyncMessage *msg, Schedules *all,
                       const Command *c) {
        _cleanup_free_ char *d = NULL, *text = NULL;
        Schedule gone = {};
        ssize_t found = -1;
        size_t count = 0;
        int r;

        for (size_t i = 0; i < all->n_stored; i++) {
                const Schedule *s = &all->stored[i];
                if (s->kind != SCHEDULE_ONCE || !streq(s->command, task_kind_to_string(c->task)))
                        continue;
                count++;
                if (!c->has_date || (s->year == c->year && s->month == c->month && s->day == c->day &&
                                     s->hour == c->hour && s->minute == c->minute))
                        found = (ssize_t) i;
        }
        if (count == 0 || found < 0)
                return reply_why(m, msg, c->has_date ?
                        strdup("There is no such one-shot to cancel; see `list schedules`") :
                        strdup("Nothing to cancel: that command has no recurring schedule and no one-shot"));
        if (!c->has_date && count > 1)
                return handler_queue_reply(m, msg,
                                           "There are several one-shots of that command; say which, e.g. "
                                           "`cancel maintenance 2027-01-08 17:00` (see `list schedules`)");
        d = describe(&all->stored[found]);
        if (!d || asprintf(&text, "Cancelled %s.", d) < 0 || schedule_copy(&all->stored[found], &gone) < 0)
                return log_oom();
        store_remove(all, (size_t) found);
        r = schedules_save(m, cu, all);
        if (r < 0)
                r = reply_not_saved_to(m, msg, r, "was cancelled");
        else
                r = queue_units(m, cu, msg, NULL, &gone, text);
        schedule_done(&gone);
        return r;
}

/* cancel (of a weekly), pause and resume: the weekly schedule changes state in the store. */
static int change_weekly(Manager *m, const Customer *cu, const SyncMessage *msg, Schedules *all,
                         const Command *c, const Schedule *cur) {
        const char *command = task_kind_to_string(c->task);
        _cleanup_free_ char *d = describe(cur), *text = NULL;
        Schedule next;
        ssize_t k;
        int r;

        if (!d ||
            (c->mode == MODE_CANCEL  ? asprintf(&text, "Cancelled %s.", d)
             : c->mode == MODE_PAUSE ? asprintf(&text, "Paused %s; `resume %s` brings it back.", d, command)
                                     : asprintf(&text, "Resumed %s.", d)) < 0)
                return log_oom();
        if (schedule_copy(cur, &next) < 0)
                return log_oom();
        next.state = c->mode == MODE_RESUME ? SCHEDULE_ACTIVE : c->mode == MODE_PAUSE ? SCHEDULE_PAUSED :
                                                                                        SCHEDULE_CANCELLED;
        k = find_weekly(all->stored, all->n_stored, command);
        if (k >= 0)
                store_remove(all, (size_t) k);
        /* A cancelled weekly stays in the store only to keep the default maintenance away. */
        r = next.state == SCHEDULE_CANCELLED && !streq(command, "maintenance") ? 0 : store_add(all, &next);
        if (r >= 0)
                r = schedules_save(m, cu, all);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                r = reply_not_saved_to(m, msg, r, "changed");
        else
                r = queue_units(m, cu, msg, c->mode == MODE_RESUME ? &next : NULL,
                                c->mode != MODE_RESUME && cur->state == SCHEDULE_ACTIVE ? cur : NULL, text);
        schedule_done(&next);
        return r;
}

static int handle_weekly_change(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
        _cleanup_(schedules_done) Schedules all = {};
        const char *command = task_kind_to_string(c->task);
        _cleanup_free_ char *why = NULL;
        ssize_t w;

        if (schedules_load(m, cu, &all) < 0)
                return handler_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        w = find_weekly(all.all, all.n_all, command);
        if (w >= 0 && all.all[w].state == SCHEDULE_CANCELLED)
                w = -1;
        if (c->mode == MODE_CANCEL && (c->has_date || w < 0))
                return cancel_once(m, cu, msg, &all, c);
        if (w < 0)
                why = strdup("there is no recurring schedule of that command; see `list recurring`");
        else if (c->mode == MODE_PAUSE && all.all[w].state != SCHEDULE_ACTIVE)
                why = strdup("that recurring schedule is already paused");
        else if (c->mode == MODE_RESUME && all.all[w].state != SCHEDULE_PAUSED)
                why = strdup("that recurring schedule is not paused");
        else
                return change_weekly(m, cu, msg, &all, c, &all.all[w]);
        return reply_why(m, msg, TAKE_PTR(why));
}

static int compare_weekly(const void *a, const void *b) {
        const Schedule *x = a, *y = b;

        return (x->weekday * 1440 + x->hour * 60 + x->minute) -
               (y->weekday * 1440 + y->hour * 60 + y->minute);
}

static int handle_list_recurring(Manager *m, const Customer *cu, const SyncMessage *msg) {
        _cleanup_(schedules_done) Schedules all = {};
        _cleanup_free_ char *text = NULL;
        size_t size = 0, n = 0;
        FILE *f;

        if (schedules_load(m, cu, &all) < 0)
                return handler_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        qsort(all.all, all.n_all, sizeof(Schedule), compare_weekly);
        f = open_memstream(&text, &size);
        if (!f)
                return log_oom();
        for (size_t i = 0; i < all.n_all; i++) {
                const Schedule *s = &all.all[i];
                if (s->kind != SCHEDULE_WEEKLY || s->state == SCHEDULE_CANCELLED)
                        continue;
                fprintf(f, "%s* %s %02d:%02d: run %s%s%s%s", n++ ? "\n" : "", weekday_to_string(s->weekday),
                        s->hour, s->minute, s->command, s->args ? " " : "", strempty(s->args),
                        s->state == SCHEDULE_PAUSED ? " (paused)" : "");
        }
        if (fclose(f) != 0)
                return log_oom();
        return handler_queue_reply(
                m, msg, n ? text : "No recurring schedules; try `recurring maintenance Friday 15:00`");
}

static int queue_list_schedules(Manager *m, const Customer *cu, const SyncMessage *msg) {
        Op *op = handler_op_for(msg, OP_LIST_SCHEDULES);

        if (!op || !(op->customer = strdup(cu->name)) || !(op->event_id = strdup(msg->event_id))) {
                op_free(op);
                return log_oom();
        }
        ops_queue(m, op);
        return 0;
}

int schedules_handle(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
        Schedule s;
        int r;

        /* Before the store changes: a start's reconcile of this customer goes ahead of the change. */
        r = reconcile_first(m, cu);
        if (r < 0)
                return r;

        switch (c->mode) {
        case MODE_SCHEDULE:
        case MODE_RECURRING:
                if (c->task == TASK_RESTART) {
                        const char *unit;
                        if (service_resolve(cu, c->service, &unit) < 0)
                                return handler_queue_reply(m, msg,
                                                           "That is not a service I know; use a name like "
                                                           "`slack` or a full `matrix-…` service name");
                }
                s = schedule_from_command(c, msg);
                return handle_schedule(m, cu, msg, &s);
        case MODE_CANCEL:
        case MODE_PAUSE:
        case MODE_RESUME:
                return handle_weekly_change(m, cu, msg, c);
        case MODE_LIST:
                if (c->list == LIST_RECURRING)
                        return handle_list_recurring(m, cu, msg);
                return queue_list_schedules(m, cu, msg);
        default:
                return handler_queue_reply(m, msg, "Unknown command, send `help`");
        }
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
                        store_remove(&all, i--);
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
        manager_step(m);
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
        manager_step(m);
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
                return manager_step(m), 0;
        /* Fixed-width time first, so the lines sort by it. */
        if (asprintf(&line, "%020llu %s", (unsigned long long) next, unit) < 0)
                return manager_fatal_oom(m), 0;
        if (strv_push(&op->lines, line) < 0) {
                free(line);
                return manager_fatal_oom(m), 0;
        }
        manager_step(m);
        return 0;
}

static int compare_lines(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The arguments are not in a unit's name; the store has them. */
static const char *args_of(const Customer *cu, const Schedules *all, const char *unit) {
        for (size_t i = 0; i < all->n_all; i++) {
                _cleanup_free_ char *stem = NULL;

                if (all->all[i].args && schedule_unit_stem(cu->name, &all->all[i], &stem) >= 0 &&
                    startswith(unit, stem) && streq(unit + strlen(stem), ".timer"))
                        return all->all[i].args;
        }
        return NULL;
}

/* "* 2027-01-08 17:00: run restart slack (recurring)", from "<next µs> <unit>". */
static int list_line(FILE *f, const Customer *cu, const Schedules *all, const char *line) {
        _cleanup_free_ char *command = NULL;
        const char *unit = line + 21, *args = args_of(cu, all, unit);
        char when[32];
        bool weekly;

        if (command_of(unit, cu->name, &command, &weekly) < 0)
                return -ENOMEM;
        if (zone_format(customer_zone(cu), (time_t) (strtoull(line, NULL, 10) / USEC_PER_SEC), when,
                        sizeof(when)) < 0)
                return 0;
        fprintf(f, "* %s: run %s%s%s%s\n", when, command, args ? " " : "", strempty(args),
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
                r = bus_list_units_async(m->bus, &m->send.slot, NULL, pattern, on_timers_listed, m);
        if (r < 0) {
                log_error_errno(r, "Failed to ask systemd for the timers of %s: %m", op->customer);
                (void) op_finish_with_reply(m, op,
                                            "Your schedules cannot be read right now; we have been told.");
        }
}

void schedules_op_step(Manager *m, Op *op) {
        if (op->kind == OP_LIST_SCHEDULES)
                list_step(m, op);
        else
                units_step(m, op);
}

int schedules_next_maintenance(Manager *m, const Customer *cu, time_t after, time_t *ret) {
        _cleanup_(schedules_done) Schedules all = {};
        ssize_t i;
        int r;

        r = schedules_load(m, cu, &all);
        if (r < 0)
                return r;
        i = find_weekly(all.all, all.n_all, "maintenance");
        if (i < 0 || all.all[i].state != SCHEDULE_ACTIVE)
                return -ENOENT;
        return schedule_weekly_next(&all.all[i], customer_zone(cu), after, ret);
}
