/* SPDX-License-Identifier: GPL-3.0-or-later */

/* At start, every customer's timers are made to match their store and the configuration: each
 * active schedule gets its timer if systemd lacks it (a customer added since boot, a unit lost),
 * monitoring its timer (or loses it). With thousands of schedules that is minutes of ops, so it
 * runs in the background: a customer's store is read when their turn comes, and their ops join
 * the queue one at a time, each when the queue is empty. A command then waits for at most one of
 * them. A customer's schedule command may come before their turn: their reconcile is done first,
 * read from the store as the command found it, and queued whole ahead of the command's own op, so
 * that it cannot start a timer again that the command stops. */

#include "log.h"
#include "manager.h"
#include "ops.h"
#include "reconcile.h"
#include "schedule-io.h"
#include "schedule.h"

/* An op nobody asked for: give systemd a timer (and its service) it lacks, or start the one it has
 * loaded (UnitExists: the generator made it), and tell nobody. */
static Op *reconcile_op_new(void) {
        _cleanup_(op_freep) Op *op = op_new(&op_schedule_units, "");

        if (!op)
                return NULL;
        op->timer = calloc(1, sizeof(UnitSpec));
        op->service = calloc(1, sizeof(UnitSpec));
        if (!op->timer || !op->service)
                return NULL;
        op->silent = true;
        return TAKE_PTR(op);
}

/* Sets *ret to the op of s, if s needs a timer. */
static int reconcile_one(const Customer *cu, const Schedule *s, usec_t now, Op **ret) {
        Op *op;
        usec_t due;

        if (s->state != SCHEDULE_ACTIVE ||
            (s->kind == SCHEDULE_ONCE && (schedule_once_usec(s, customer_zone(cu), &due) < 0 || due <= now)))
                return 0;
        op = reconcile_op_new();
        if (!op || unit_render_schedule(cu, s, now, op->timer, op->service) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        *ret = op;
        return 0;
}

/* A monitored customer gets its monitoring timer; one no longer monitored (the configuration
 * changed since boot) loses the generated one. */
static int reconcile_monitor(const Config *c, const Customer *cu, Op **ret) {
        _cleanup_free_ char *stem = NULL, *name = NULL;
        Op *op = reconcile_op_new();
        int r;

        r = op ? unit_render_monitor(c, cu, op->timer, op->service) : -ENOMEM;
        if (r == 0) {
                op->timer = mfree(op->timer);
                op->service = mfree(op->service);
                if (unit_monitor_stem(cu->name, &stem) < 0 || asprintf(&name, "%s.timer", stem) < 0 ||
                    strv_push(&op->stop, name) < 0)
                        r = -ENOMEM;
                else
                        TAKE_PTR(name);
        }
        if (r < 0) {
                op_free(op);
                return -ENOMEM;
        }
        *ret = op;
        return 0;
}

static void op_list_free(Op *list) {
        while (list) {
                Op *op = list;

                list = op->next;
                op_free(op);
        }
}

/* Puts a list of ops on the queue, in its order. */
static void queue_list(Manager *m, Op *list) {
        while (list) {
                Op *op = list;

                list = op->next;
                op->next = NULL;
                ops_queue(m, op);
        }
}

/* The ops of customer i's reconcile as a list, from their store as it is now. */
static int reconcile_customer(Manager *m, size_t i, Op **ret) {
        const Customer *cu = &m->config->customers[i];
        usec_t now = now_usec(CLOCK_REALTIME);
        _cleanup_(schedules_done) Schedules all = {};
        Op *list = NULL, **tail = &list;
        int r;

        m->reconcile.pending[i] = false;
        m->reconcile.n_pending--;
        /* Monitoring needs no store: a broken one does not stop it. */
        r = reconcile_monitor(m->config, cu, tail);
        /* A store that cannot be read is logged and left as none; the others still get theirs. */
        if (r >= 0)
                (void) schedules_load(m, cu, &all);
        for (size_t k = 0; r >= 0 && k < all.n_all; k++) {
                while (*tail)
                        tail = &(*tail)->next;
                r = reconcile_one(cu, &all.all[k], now, tail);
        }
        if (r < 0) {
                op_list_free(list);
                return r;
        }
        *ret = list;
        return 0;
}

int reconcile_first(Manager *m, const Customer *cu) {
        Reconcile *rc = &m->reconcile;
        size_t i = (size_t) (cu - m->config->customers);
        Op *list;

        if (rc->customer == cu)
                queue_list(m, TAKE_PTR(rc->ops));
        if (!rc->pending || !rc->pending[i])
                return 0;
        if (reconcile_customer(m, i, &list) < 0)
                return log_oom();
        queue_list(m, list);
        return 0;
}

void reconcile_step(Manager *m) {
        Reconcile *rc = &m->reconcile;
        Op *op;

        while (!rc->ops && rc->n_pending > 0) {
                while (!rc->pending[rc->next])
                        rc->next++;
                rc->customer = &m->config->customers[rc->next];
                if (reconcile_customer(m, rc->next, &rc->ops) < 0)
                        return manager_fatal_oom(m);
        }
        if (!rc->ops) {
                if (rc->pending)
                        log_info("Reconciled the timers of %zu customers, %.1f s after the start.",
                                 m->config->n_customers,
                                 (double) (now_usec(CLOCK_REALTIME) / USEC_PER_MSEC - m->start_ms) / 1000);
                rc->pending = mfree(rc->pending);
                return;
        }
        op = rc->ops;
        rc->ops = op->next;
        op->next = NULL;
        ops_queue(m, op);
}

int reconcile_start(Manager *m) {
        Reconcile *rc = &m->reconcile;

        rc->pending = calloc(m->config->n_customers + 1, sizeof(bool));   /* + 1: not NULL for none */
        if (!rc->pending)
                return log_oom();
        for (size_t i = 0; i < m->config->n_customers; i++)
                rc->pending[i] = true;
        rc->n_pending = m->config->n_customers;
        log_info("Reconciling the timers of %zu customers in the background.", rc->n_pending);
        return 0;
}

void reconcile_free(Manager *m) {
        m->reconcile.pending = mfree(m->reconcile.pending);
        op_list_free(TAKE_PTR(m->reconcile.ops));
}
