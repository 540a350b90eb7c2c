/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A customer's schedules: one-shot ("schedule") and weekly ("recurring"), kept in
 * SCHEDULES_DIR/CUSTOMER.conf (inih, one section per schedule, written atomically) and living as
 * systemd timers named after them. Pure but for the store's load and save. */

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "util.h"

#define SCHEDULES_MAX 50
/* A schedule's id, the customer's own short handle on it (`cancel 4`): 1 is the weekly maintenance,
 * default or not; the others get the next above the highest, kept in the store. */
#define SCHEDULE_ID_MAINTENANCE 1U
#define SCHEDULE_ID_MAX 9999U

typedef enum ScheduleKind {
        SCHEDULE_ONCE,
        SCHEDULE_WEEKLY,
} ScheduleKind;

typedef enum ScheduleState {
        SCHEDULE_ACTIVE,
        SCHEDULE_PAUSED,       /* weekly only: kept, no timer */
        SCHEDULE_CANCELLED,    /* weekly maintenance only: the default slot is not wanted */
} ScheduleState;

typedef struct Schedule {
        unsigned id;           /* see SCHEDULE_ID_MAINTENANCE; 0: none yet */
        ScheduleKind kind;
        ScheduleState state;
        char *command;         /* "maintenance", "restart", … */
        char *args;            /* restart's service, else NULL */
        int year, month, day;  /* SCHEDULE_ONCE; date and time in the customer's time zone */
        int weekday;           /* SCHEDULE_WEEKLY, 0 = Monday */
        int hour, minute;
        bool builtin;          /* the default maintenance, derived from the customer's name */
        char *room;            /* where results go; NULL: the customer's room */
        char *reply_to;        /* the message that made it */
} Schedule;

void schedule_done(Schedule *s);
bool schedule_is_weekly_maintenance(const Schedule *s);
/* The id a new schedule s gets among the store's l, never one below *next (the store's counter, may
 * be NULL), which moves past it. */
unsigned schedule_next_id(const Schedule *l, size_t n, unsigned *next, const Schedule *s);
void schedules_free(Schedule *s, size_t n);
int schedule_copy(const Schedule *s, Schedule *ret);

/* "scheduler-acme-maintenance-at-202701081700" or "scheduler-acme-maintenance-weekly-fri-1500";
 * a restart's one-shot gets the service's hash too. The stem of both the .timer and the .service. */
int schedule_unit_stem(const char *customer, const Schedule *s, char **ret);
/* The stem's command, or NULL if the name is not one of this customer's schedule units. */
bool schedule_unit_is_customers(const char *unit, const char *customer);

/* Weekly maintenance: the configured slot, else one derived from the name (stable everywhere,
 * spread over the week). */
int schedule_default_maintenance(const Customer *c, Schedule *ret);

/* When a one-shot is due, in µs since the epoch, its date and time read in zone. -ERANGE for a
 * date or time that does not exist there. */
int schedule_once_usec(const Schedule *s, const char *zone, usec_t *ret);
/* A weekly schedule's next time strictly after after, in zone. */
int schedule_weekly_next(const Schedule *s, const char *zone, time_t after, time_t *ret);

/* The store. A missing file is no schedules. Errors come back as text. */
int schedule_store_load(const char *dir, const char *customer, Schedule **ret, size_t *ret_n,
                        char **ret_error);
int schedule_store_save(const char *dir, const char *customer, const Schedule *s, size_t n);
/* The same with the store's id counter: the id the next new schedule gets (see schedule_next_id()). */
int schedule_store_load_ids(const char *dir, const char *customer, Schedule **ret, size_t *ret_n,
                            unsigned *ret_next_id, char **ret_error);
int schedule_store_save_ids(const char *dir, const char *customer, const Schedule *s, size_t n,
                            unsigned next_id);

/* What the customer has: the store's schedules plus the default maintenance unless the store
 * has a weekly maintenance (of any state). */
int schedule_effective(const Customer *c, const Schedule *stored, size_t n, Schedule **ret, size_t *ret_n);
