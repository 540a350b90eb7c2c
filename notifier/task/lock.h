/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* One command that changes the customer's server at a time (lock.c). */

#include <stdbool.h>

#include "task.h"

/* Takes the customer's lock for t's command (maintenance, restart) before it starts, where the unit
 * bound it (UNIT_LOCK_PATH): held until the task exits. A command asked for in chat does not wait:
 * another holding it fails t (-EBUSY). A scheduled one waits up to wait_sec, says in its report
 * that it waited, or fails t when the time is up (-ETIME). Without a lock file (the task run by
 * hand, or the notifier never made one) the command runs, as before there were locks. */
int task_lock(TaskContext *t, const char *command, bool wait, unsigned wait_sec);

/* Whether a maintenance or restart of customer's (other than the unit own, may be NULL) runs now,
 * read from the cgroup file system (the task's own user may not use the system bus): *ret_command
 * names it, NULL for none. -ENOENT: no cgroup file system in sight. */
int lock_holder(const char *customer, const char *own, const char **ret_command);
