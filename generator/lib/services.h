/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Service names customers may restart: friendly aliases ("slack") and full matrix-* unit names.
 * Pure; shared by the notifier (to refuse at once) and the task (to act). */

#include "config.h"

/* name → unit name without ".service". -ENOENT if it is neither an alias nor a matrix-* unit,
 * -EINVAL if it has characters no unit name of ours may have. */
int service_resolve(const Customer *c, const char *name, const char **ret_unit);

/* The built-in table, as NULL-terminated alternating name, unit pairs. */
extern const char *const service_builtin_aliases[];
