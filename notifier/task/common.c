/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdarg.h>

#include "task.h"
#include "util.h"

int task_fail(TaskContext *t, int error, const char *format, ...) {
        va_list ap;

        if (!t->failure) {
                va_start(ap, format);
                if (vasprintf(&t->failure, format, ap) < 0)
                        t->failure = NULL;
                va_end(ap);
        }
        error = error < 0 ? error : -error;
        return error == 0 ? -EIO : error;
}
