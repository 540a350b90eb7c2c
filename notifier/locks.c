/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Each customer's lock file. Read-only to the tasks (flock() needs no more), in a directory only
 * the notifier's user may enter, so that no local user can hold a customer's lock. */

#include <fcntl.h>
#include <sys/stat.h>

#include "locks.h"
#include "log.h"

void locks_prepare(const Config *c, const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0) {
                log_warning_errno(errno, "Cannot open %s (tmpfiles.d makes it at boot), so maintenance and "
                                  "restart are not kept one at a time per customer: %m", dir);
                return;
        }
        for (size_t i = 0; i < c->n_customers; i++) {
                _cleanup_free_ char *name = NULL;
                _cleanup_close_ int fd = -EBADF;

                if (asprintf(&name, "%s.lock", c->customers[i].name) < 0) {
                        (void) log_oom();
                        return;
                }
                fd = openat(dfd, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
                /* Our umask is 0077; the task's own user only reads it. */
                if (fd < 0 || fchmod(fd, 0644) < 0)
                        log_warning_errno(errno, "Cannot make %s/%s; %s's maintenance and restart run "
                                          "without it: %m", dir, name, c->customers[i].name);
        }
}
