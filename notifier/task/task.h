/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* One command for one customer, run by scheduler-task. Each command writes what the customer
 * reads into t->report (UTF-8 lines, `code` spans and "* " items allowed, see reply.h) and
 * returns 0, or calls task_fail() with a one-line reason for the customer and returns that. */

#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

typedef struct TaskContext {
        const Config *config;
        const Customer *customer;
        char **args;            /* the words after the command, NULL-terminated */
        FILE *report;
        char *failure;
        unsigned long long started; /* CLOCK_REALTIME µs, when the run began */
} TaskContext;

/* Sets t->failure (first call wins) and returns -abs(error), or -EIO if error is 0. */
int task_fail(TaskContext *t, int error, const char *format, ...) _printf_(3, 4);

int task_ping(TaskContext *t);
/* Runs every ping check into *l (the caller frees it with checks_done()); < 0 only when out of
 * memory: a check that fails is a red item. Maintenance calls it for "Identified issues". */
struct CheckList;
int ping_collect(TaskContext *t, struct CheckList *l);
int task_price(TaskContext *t);
int task_disk(TaskContext *t);
int task_restart(TaskContext *t);
int task_maintenance(TaskContext *t);
