/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A customer's schedules as the notifier keeps them (schedule-io.c): their store in schedules.d/,
 * and the ops that tell systemd. The format and the calendar are schedule.c's. */

#include <time.h>

#include "manager.h"
#include "ops.h"
#include "schedule.h"

typedef struct Schedules {
        Schedule *stored;      /* the store */
        size_t n_stored;
        Schedule *all;         /* the store plus the default maintenance */
        size_t n_all;
        unsigned next_id;      /* the id the next new schedule gets */
} Schedules;

/* Starts the op's timer (timer, service) or an existing one, stops those of stop, then replies
 * with text (or failure), unless silent. */
extern const OpType op_schedule_units;
/* Asks systemd for the customer's timers and their next elapse, and replies with the list. */
extern const OpType op_list_schedules;

/* The customer's store and their effective schedules; the store's error is logged. */
int schedules_load(Manager *m, const Customer *cu, Schedules *ret);
void schedules_done(Schedules *s);
int schedules_save(Manager *m, const Customer *cu, const Schedules *s);
/* Appends a copy of add to the store (in memory). */
int schedules_add(Schedules *s, const Schedule *add);
void schedules_remove(Schedules *s, size_t i);
/* The weekly schedule of a command among l, or -1. */
ssize_t schedules_find_weekly(const Schedule *l, size_t n, const char *command);
/* A one-shot ran: it leaves the store. */
void schedules_retire(Manager *m, const char *customer, const char *stem);
/* The customer's next weekly maintenance after after (-ENOENT: none active). */
int schedules_next_maintenance(Manager *m, const Customer *cu, time_t after, time_t *ret);
