/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The notifier's loop: builds the Manager and its modules, and steps the lanes whenever a module
 * wakes it (manager_wake()). */

#include "config.h"
#include "manager.h"

int loop_new(Config *config, Manager **ret);
Manager *loop_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, loop_free);
int loop_run(Manager *m);
/* Every secret file of the configuration is owned by us and closed to group and others; logs each
 * one that is not, with the fix. */
int loop_check_secrets(const Config *c);
