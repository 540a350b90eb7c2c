/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The one place that says what a run's service and a schedule's timer look like. The result is a
 * list of unit-file assignments: scheduler-generator writes them as files, the notifier sends the
 * same list over D-Bus (notifier/bus-unit.c), so a generated unit and a transient one are the same
 * unit. Pure. Every value is built from validated words: no blanks, quotes, '%' or newlines. */

#include <stdio.h>

#include "schedule.h"
#include "util.h"

typedef enum UnitSection {
        SECTION_UNIT,
        SECTION_TIMER,
        SECTION_SERVICE,
} UnitSection;

typedef struct UnitProperty {
        UnitSection section;
        const char *key;       /* a string literal: not copied, not freed */
        const char *value;
        char *allocated;       /* value, if it was printed or copied; NULL: value is a literal */
} UnitProperty;

typedef struct UnitSpec {
        char *name;            /* "scheduler-….timer" / ".service" */
        UnitProperty *props;
        size_t n;
} UnitSpec;

/* What a run is, besides its unit's name. */
typedef struct RunSpec {
        const char *customer;
        const char *command;   /* "price", "restart", … */
        const char *args;      /* restart's service, or NULL */
        const char *mode;      /* "run", "schedule", "recurring" */
        const char *room;      /* NULL: the customer's room */
        const char *reply_to;  /* NULL: a reply to nothing */
        const char *sender;    /* NULL for schedules */
        const char *schedule;  /* a one-shot's unit stem, so its result can retire it */
        usec_t due;            /* a one-shot's due time, so a late run can say so */
        usec_t runtime_max;    /* 0: unit_runtime_max_usec(command) */
} RunSpec;

void unit_spec_done(UnitSpec *u);
/* How long a command may take before systemd stops it. */
usec_t unit_runtime_max_usec(const char *command);
/* The customer's: maintenance takes as long as its branch allows, and then the checks after it. */
usec_t unit_customer_runtime_max_usec(const Customer *c, const char *command);
/* systemd expands $ in ExecStart, from a file or over D-Bus alike: "$" → "$$". */
char *unit_exec_escape(const char *s);

int unit_render_service(const RunSpec *r, const char *name, UnitSpec *ret);
/* A schedule's timer and the service it starts. A one-shot that is already due (missed while
 * the host was down) fires once, shortly after boot. now: CLOCK_REALTIME. */
int unit_render_schedule(const Customer *c, const Schedule *s, usec_t now, UnitSpec *ret_timer,
                         UnitSpec *ret_service);
/* The customer's monitoring: scheduler-CUSTOMER-monitor.timer, every [scheduler] monitor_interval
 * (the first one interval after boot), starting a quiet ping (SCHEDULER_MODE=monitor, no room).
 * 0 and nothing written if the customer is not monitored, 1 with both units if it is. */
int unit_render_monitor(const Config *c, const Customer *cu, UnitSpec *ret_timer, UnitSpec *ret_service);
/* "scheduler-CUSTOMER-monitor": the stem of the monitoring timer and of its service. */
int unit_monitor_stem(const char *customer, char **ret);
/* "Friday 15:00" / "2027-01-08 17:00", as customers read it. */
int schedule_when_string(const Schedule *s, char **ret);

/* The unit file's text: a header, [Unit] (with SourcePath= if given), then the rest. Into *buf of
 * *allocated bytes, grown as needed (so one buffer serves many units), NUL-terminated; its
 * length in *ret_size. */
int unit_text(const UnitSpec *u, const char *source_path, char **buf, size_t *allocated, size_t *ret_size);
