/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What ran, as the journal tells it (run-history.c). */

#include <systemd/sd-journal.h>

#include "results.h"

/* The journal entry j is at, as a run's entry (results.c checks it). */
int run_history_read(sd_journal *j, RunResult *ret);
/* Whether the journal has an entry with both fields: 1, 0 or -errno. j's matches are replaced. */
int run_history_has_in(sd_journal *j, const char *match, const char *match2);
/* Whether the command event_id of customer ran already (any entry of its run): 1, 0 or -errno. */
int run_history_seen(const char *customer, const char *event_id);
/* `list runs`: the customer's last runs, times in zone. */
int run_history_list(const char *customer, const char *zone, char **ret_text);
