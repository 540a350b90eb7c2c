/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Logging at the edge: main(), managers and handlers log; parsers and renderers return errors.
 * Lines go to stderr with a "<N>" priority prefix when stderr is the journal, and to /dev/kmsg
 * once log_open_kmsg() was called (the generator: nothing else is up that early). */

#include <errno.h>
#include <stdio.h>
#include <syslog.h>

#include "util.h"

void log_set_max_level(int level);
int log_get_max_level(void);
void log_open_kmsg(const char *ident);

/* Returns -abs(error), so callers can "return log_error_errno(r, …);". %m prints error. */
int log_internal(int level, int error, const char *file, int line, const char *format, ...)
        _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/* Text from outside (a customer's server's output) to f, line by line, each with the "<6>" prefix
 * when the journal reads f: a line of its own that starts with "<0>" stays text, not an emergency
 * journald would broadcast (it reads one prefix). */
void log_text(FILE *f, const char *text);
