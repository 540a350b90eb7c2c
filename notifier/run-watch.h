/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A run's end reads the journal at once (run-watch.c); no other unit wakes us. */

#include "manager.h"

void run_watch(Manager *m, const char *unit);
/* The run was not started after all. */
void run_unwatch(Manager *m, const char *unit);
void run_unwatch_all(Manager *m);
