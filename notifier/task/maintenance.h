/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The pure parts of `maintenance`: its output read line by line, the step it is at, how often a
 * step may be told, the built-in script and the operator command's environment. */

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

#define MAINTENANCE_LINE_MAX 4096U
#define MAINTENANCE_STEP_MAX 100U
#define MAINTENANCE_LAST_LINES 8U
#define MAINTENANCE_NOTICES_MAX 8U
/* At most one progress entry in this time, the first one excepted. */
#define MAINTENANCE_PROGRESS_INTERVAL_USEC (10ULL * USEC_PER_SEC)

/* The built-in maintenance of a plain Debian server, one line for the server's shell: apt-get
 * update and upgrade (keeping changed configuration files), autoremove, clean, a notice if a reboot
 * is required, the journal vacuumed to 7 days, docker pruned if there is docker, and every enabled
 * matrix-* service checked to be active. Each step starts with a "==> " line. */
extern const char maintenance_builtin_script[];

/* "==> STEP" (ours) or Ansible's "TASK [STEP] ****": 1 and *ret_step, cleaned to one short line of
 * printable text without backticks; 0 when the line names no step. */
int maintenance_step_parse(const char *line, char **ret_step);
/* "NOTICE: TEXT": 1 and *ret_text, cleaned the same way; 0 otherwise. */
int maintenance_notice_parse(const char *line, char **ret_text);

/* Cuts a stream into lines (without '\n'); a longer line than MAINTENANCE_LINE_MAX is cut there. */
typedef void (*line_callback_t)(const char *line, void *userdata);
typedef struct LineSplitter {
        char buf[MAINTENANCE_LINE_MAX + 1];
        size_t n;
        bool skipping;         /* the rest of a line that was too long */
        line_callback_t on_line;
        void *userdata;
} LineSplitter;
void line_splitter_feed(LineSplitter *s, const char *data, size_t size);
/* The last line, if it had no '\n'. */
void line_splitter_flush(LineSplitter *s);

/* The last MAINTENANCE_LAST_LINES lines, for a failure's report. */
typedef struct LastLines {
        char *lines[MAINTENANCE_LAST_LINES];
        size_t n;              /* how many were pushed in all */
} LastLines;
int last_lines_push(LastLines *l, const char *line);
/* "* `line`" each, oldest first, blank lines left out. */
void last_lines_write(FILE *f, const LastLines *l);
void last_lines_done(LastLines *l);

/* Which step to tell, and when: the first at once, then at most one per interval, the latest. */
typedef struct StepThrottle {
        char *latest;
        bool pending;          /* latest is not told yet */
        bool told_any;
        usec_t last;           /* CLOCK_MONOTONIC of the last one told */
} StepThrottle;
/* Takes step (malloc'ed). */
void step_throttle_set(StepThrottle *t, char *step);
/* The step to tell now, or NULL; marks it told. */
const char *step_throttle_due(StepThrottle *t, usec_t now);
void step_throttle_done(StepThrottle *t);

/* The operator command's environment: PATH, LANG and SCHEDULER_CUSTOMER, _DOMAIN, _BRANCH,
 * _SSH_HOST, _SSH_PORT, _SSH_USER, _SSH_KEY_FILE. */
int maintenance_environment(const Customer *cu, char ***ret);
