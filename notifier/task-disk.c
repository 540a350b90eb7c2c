/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "task.h"

int task_disk(TaskContext *t) {
        return task_fail(t, -EOPNOTSUPP, "`disk` is not available yet");
}
