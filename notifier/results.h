/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A run's result entry (SCHEDULER_EVENT=result) as read from the journal, checked, and turned into
 * what the customer reads. Everything here is untrusted input until run_result_valid() says so. */

#include <stdbool.h>

#include "util.h"

/* The notifier's own unit: it writes the result of a run that a reboot of this host cut short. */
#define NOTIFIER_UNIT "scheduler-notifier.service"
/* The reason of such a result, as the customer reads it after "… command failed: ". */
#define RUN_INTERRUPTED_REASON                                                                              \
        "interrupted: the server running The Scheduler restarted while it ran, so it may have "             \
        "stopped half-way; please check your server, or run it again"

typedef struct RunResult {
        char *unit;            /* _SYSTEMD_UNIT, trusted: set by journald */
        char *uid;             /* _UID, trusted */
        char *systemd_invocation; /* _SYSTEMD_INVOCATION_ID, trusted (journald may not know it) */
        char *run;             /* SCHEDULER_RUN: the unit's name without .service */
        char *customer;
        char *command;
        char *args;
        char *result;          /* "success" or "failure" */
        char *reason;
        char *report;
        char *room;
        char *reply_to;
        char *invocation;
        char *schedule;        /* SCHEDULER_SCHEDULE: the one-shot this run was, to retire it */
        char *event;           /* SCHEDULER_EVENT: "result" or "progress" */
        char *step;            /* SCHEDULER_STEP of a progress entry */
        char *mode;            /* SCHEDULER_MODE: "run", "schedule", "recurring", "monitor" */
        char *tail;            /* SCHEDULER_TAIL: "yes" if the report is to be the run's last lines
                                * (written after the run ended, by a user that cannot read them) */
        usec_t started;        /* SCHEDULER_STARTED, 0 if unknown */
        bool conflict;         /* a field came twice with two values: the entry is no one's */
        bool start_seen;       /* without a unit: the caller found the run's start entry, of the same
                                * invocation, from the run's own unit (results-io.c) */
        usec_t realtime;       /* when the entry was written */
} RunResult;

void run_result_done(RunResult *r);
/* Sets the field named by "FIELD=value" data (size bytes, not NUL-terminated), if it is one of ours. */
int run_result_set_field(RunResult *r, const char *data, size_t size);
/* Written by scheduler-task in a unit of the same customer, with the fields a message needs. */
bool run_result_valid(const RunResult *r);
/* A progress entry (SCHEDULER_EVENT=progress) of a maintenance, from the customer's own unit. */
bool run_progress_valid(const RunResult *r);
/* A run's start entry (SCHEDULER_EVENT=start; every run but monitoring's writes one), from the
 * customer's own unit, with the invocation id its result entry would carry. */
bool run_start_valid(const RunResult *r);
bool run_result_success(const RunResult *r);
/* "Execution of `run ping` command successful" and the report, or "… failed: why"; a maintenance
 * says how long it took. */
int run_result_message(const RunResult *r, char **ret);
/* "* 2022-06-19 16:03: run restart slack failed: exit status 1", the time in zone. */
int run_result_list_line(const RunResult *r, const char *zone, char **ret);
