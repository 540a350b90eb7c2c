/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "task.h"

int task_restart(TaskContext *t) {
        return task_fail(t, -EOPNOTSUPP, "`restart` is not available yet");
}
