/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Before each weekly maintenance, [scheduler] maintenance_reminder ahead, a reminder. */

#include "manager.h"

int reminders_arm(Manager *m);
