/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* schedule, recurring, cancel, pause, resume, list schedules, list recurring. */

#include "command.h"
#include "manager.h"

int schedule_commands_handle(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c);
