/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Monitoring's memory, per customer: which checks fail, how many runs in a row, and whether the
 * customer was told. Alerts go out on change only: a check that fails twice in a row is new
 * trouble, a check that was alerted and passes again is a recovery, announced once; nothing is
 * said while nothing changes. Pure; the state is JSON kept in monitoring.json (state.h):
 *
 *   {"last": USEC, "checks": {"25 (tcp port)": {"fails": 3, "alerted": true}}}
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ALERT_AFTER_FAILURES 2

/* The report of a monitoring run, as scheduler-task writes it:
 *   {"held": false, "failures": [{"key": "25 (tcp port)", "line": "🟥 25 (tcp port): timeout (help: …)"}]}
 * held: a maintenance or restart was running, nothing was checked. -EBADMSG if it is not that. */
int monitor_report_parse(const char *text, bool *ret_held, json_t **ret_failures);

/* Applies one run (failures as monitor_report_parse gives them) written at realtime to state (a
 * JSON object, changed in place). A run not newer than the last one applied changes nothing.
 * *ret_message: what to tell the customer, or NULL when there is nothing new. */
int alert_state_update(json_t *state, const char *domain, json_t *failures, uint64_t realtime,
                       char **ret_message);
