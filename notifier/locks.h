/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Each customer's lock file, SCHEDULER_LOCK_DIR/NAME.lock: a maintenance or restart holds it while
 * it changes the customer's server (task/lock.c). The notifier makes them; a task's unit binds its
 * own customer's into it (unit-sandbox.c). */

#include "config.h"

/* Makes the lock file of every customer of c that has none; logs what it cannot make (the tasks
 * then run without one). dir: SCHEDULER_LOCK_DIR, or another for tests. */
void locks_prepare(const Config *c, const char *dir);
