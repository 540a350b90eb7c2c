/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Results from the journal to the customers' rooms (results-io.c); the entries themselves are
 * results.c's. Where a result's journal position is saved: result_delivered(). */

#include "manager.h"

/* From the last result the homeserver accepted, and on as entries come. */
int results_follow(Manager *m);
/* Reads what the journal has new now (a run ended, or the journal woke us). */
int results_read_new(Manager *m);
