/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The chat commands schedule, recurring, cancel, pause, resume, list schedules and list recurring:
 * the store is changed first (atomically), then systemd is told (an op_schedule_units op: start the
 * new timer, stop the old one), then the customer. list schedules asks systemd for the timers' next
 * elapse; list recurring reads the store. */

#include <time.h>

#include "calendar.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "reconcile.h"
#include "reply.h"
#include "schedule-commands.h"
#include "schedule-io.h"
#include "schedule.h"
#include "services.h"

#define YEARS_AHEAD 2

static int reply_not_saved_to(Manager *m, const SyncMessage *msg, int error, const char *what) {
        _cleanup_free_ char *text = NULL;

        if (reply_not_saved(error, what, &text) < 0)
                return log_oom();
        return ops_queue_reply(m, msg, text);
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
        _cleanup_(op_freep) Op *op = op_for_command(msg, &op_schedule_units, cu->name);
        _cleanup_free_ char *name = NULL;
        int r;

        if (!op)
                return log_oom();
        op->text = strdup(text);
        if (!op->text)
                return log_oom();
        if (start) {
                op->timer = calloc(1, sizeof(UnitSpec));
                op->service = calloc(1, sizeof(UnitSpec));
                if (!op->timer || !op->service)
                        return log_oom();
                r = unit_render_schedule(cu, start, now_usec(CLOCK_REALTIME), op->timer, op->service);
                if (r < 0)
                        return log_oom();
        }
        if (stop) {
                r = unit_name(cu->name, stop, ".timer", &name);
                if (r >= 0)
                        r = strv_push(&op->stop, name);
                if (r < 0)
                        return log_oom();
                TAKE_PTR(name);
        }
        ops_queue(m, TAKE_PTR(op));
        return 0;
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
        return ops_queue_reply(m, msg, text);
}

static int handle_schedule(Manager *m, const Customer *cu, const SyncMessage *msg, const Schedule *s) {
        _cleanup_(schedules_done) Schedules all = {};
        _cleanup_free_ char *why = NULL, *stem = NULL, *old_stem = NULL;
        const Schedule *stop = NULL;
        int r;

        if (s->kind == SCHEDULE_ONCE && check_once(s, customer_zone(cu), &why) != 0)
                return reply_why(m, msg, TAKE_PTR(why));
        if (schedules_load(m, cu, &all) < 0)
                return ops_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        if (schedule_unit_stem(cu->name, s, &stem) < 0)
                return log_oom();
        /* The same one-shot again replaces itself; a weekly one replaces the command's weekly one. */
        for (size_t i = 0; s->kind == SCHEDULE_ONCE && i < all.n_stored; i++) {
                _cleanup_free_ char *other = NULL;

                if (schedule_unit_stem(cu->name, &all.stored[i], &other) < 0)
                        return log_oom();
                if (streq(other, stem))
                        schedules_remove(&all, i--);
        }
        if (count_pending(&all) >= SCHEDULES_MAX)
                return ops_queue_reply(m, msg,
                                           "You have 50 pending schedules, the most there can be; cancel "
                                           "one first (see `list schedules`)");
        if (s->kind == SCHEDULE_WEEKLY) {
                ssize_t old = schedules_find_weekly(all.all, all.n_all, s->command),
                        k = schedules_find_weekly(all.stored, all.n_stored, s->command);

                if (old >= 0 && all.all[old].state == SCHEDULE_ACTIVE) {
                        if (schedule_unit_stem(cu->name, &all.all[old], &old_stem) < 0)
                                return log_oom();
                        /* The same slot again: its timer is the new one, keep it. */
                        stop = streq(old_stem, stem) ? NULL : &all.all[old];
                }
                if (k >= 0)
                        schedules_remove(&all, (size_t) k);
        }
        if (schedules_add(&all, s) < 0)
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
                if (c->id > 0 ? s->id == c->id :
                    !c->has_date || (s->year == c->year && s->month == c->month && s->day == c->day &&
                                     s->hour == c->hour && s->minute == c->minute))
                        found = (ssize_t) i;
        }
        if (count == 0 || found < 0)
                return reply_why(m, msg, c->has_date ?
                        strdup("There is no such one-shot to cancel; see `list schedules`") :
                        strdup("Nothing to cancel: that command has no recurring schedule and no one-shot"));
        if (!c->has_date && count > 1)
                return ops_queue_reply(m, msg,
                                           "There are several one-shots of that command; say which, e.g. "
                                           "`cancel maintenance 2027-01-08 17:00` (see `list schedules`)");
        d = describe(&all->stored[found]);
        if (!d || asprintf(&text, "Cancelled %s.", d) < 0 || schedule_copy(&all->stored[found], &gone) < 0)
                return log_oom();
        schedules_remove(all, (size_t) found);
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
        k = schedules_find_weekly(all->stored, all->n_stored, command);
        if (k >= 0)
                schedules_remove(all, (size_t) k);
        /* A cancelled weekly stays in the store only to keep the default maintenance away. */
        r = next.state == SCHEDULE_CANCELLED && !streq(command, "maintenance") ? 0 :
                                                                                  schedules_add(all, &next);
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

/* `cancel 4`: *ret, the same command by command (and a one-shot's date and time) that id 4 of the
 * customer's stands for: 1 a one-shot, 0 a weekly, -ENOENT none of theirs. */
static int command_of_id(const Schedules *all, const Command *c, Command *ret) {
        for (size_t i = 0; i < all->n_all; i++) {
                const Schedule *s = &all->all[i];

                if (s->id != c->id || s->state == SCHEDULE_CANCELLED)
                        continue;
                *ret = *c;
                if (task_kind_from_string(s->command, &ret->task) < 0)
                        return -ENOENT;
                if (s->kind == SCHEDULE_WEEKLY)
                        return 0;
                ret->has_date = true;
                ret->year = s->year;
                ret->month = s->month;
                ret->day = s->day;
                ret->hour = s->hour;
                ret->minute = s->minute;
                return 1;
        }
        return -ENOENT;
}

static int handle_weekly_change(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
        _cleanup_(schedules_done) Schedules all = {};
        _cleanup_free_ char *why = NULL;
        const char *command;
        Command by_id;
        ssize_t w;
        int r;

        if (schedules_load(m, cu, &all) < 0)
                return ops_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        if (c->id > 0) {
                r = command_of_id(&all, c, &by_id);
                if (r == -ENOENT &&
                    asprintf(&why, "There is no schedule #%u; see `list schedules`", c->id) < 0)
                        return log_oom();
                if (r > 0 && c->mode != MODE_CANCEL &&
                    asprintf(&why, "#%u is a one-shot: it can be cancelled, not %s", c->id,
                             c->mode == MODE_PAUSE ? "paused" : "resumed") < 0)
                        return log_oom();
                if (why)
                        return reply_why(m, msg, TAKE_PTR(why));
                c = &by_id;
        }
        command = task_kind_to_string(c->task);
        w = schedules_find_weekly(all.all, all.n_all, command);
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
                return ops_queue_reply(m, msg,
                                           "Your schedules cannot be read right now; we have been told.");
        qsort(all.all, all.n_all, sizeof(Schedule), compare_weekly);
        f = open_memstream(&text, &size);
        if (!f)
                return log_oom();
        for (size_t i = 0; i < all.n_all; i++) {
                const Schedule *s = &all.all[i];
                if (s->kind != SCHEDULE_WEEKLY || s->state == SCHEDULE_CANCELLED)
                        continue;
                fprintf(f, "%s* #%u %s %02d:%02d: run %s%s%s%s", n++ ? "\n" : "", s->id,
                        weekday_to_string(s->weekday), s->hour, s->minute, s->command, s->args ? " " : "",
                        strempty(s->args), s->state == SCHEDULE_PAUSED ? " (paused)" : "");
        }
        if (fclose(f) != 0)
                return log_oom();
        return ops_queue_reply(
                m, msg, n ? text : "No recurring schedules; try `recurring maintenance Friday 15:00`");
}

static int queue_list_schedules(Manager *m, const Customer *cu, const SyncMessage *msg) {
        Op *op = op_for_command(msg, &op_list_schedules, cu->name);

        if (!op)
                return log_oom();
        ops_queue(m, op);
        return 0;
}

int schedule_commands_handle(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
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
                                return ops_queue_reply(m, msg,
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
                return ops_queue_reply(m, msg, "Unknown command, send `help`");
        }
}
