/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Monitoring results become alerts (alerts-io.c; what is told when is alerts.c's). */

#include "manager.h"
#include "results.h"

int alerts_on_result(Manager *m, const RunResult *res, const char *cursor);
/* text to the customer's room, or to a direct chat opened first; id makes the transaction id;
 * cursor (may be NULL) is the journal entry it delivers. */
int alerts_queue_message(Manager *m, const Customer *cu, const char *text, const char *id, const char *cursor);
/* At the start: the alerts a stop left undelivered, queued again under their transaction ids. */
int alerts_queue_pending(Manager *m);
