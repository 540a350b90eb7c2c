/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "command.h"
#include "ops.h"
#include "util.h"

/* scheduler-CUSTOMER-COMMAND-run-ID.service, ID derived from the command's event id, so a command
 * seen twice (a replay after a crash) names the same unit and systemd refuses the second start. */
int run_unit_name(const char *customer, TaskKind task, const char *event_id, char **ret);

/* A customer's `run`: one command of a kind per customer at a time, started as a transient service
 * over sd-bus; the op then becomes the reply that says so. */
extern const OpType op_run;
