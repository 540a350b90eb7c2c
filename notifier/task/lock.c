/* SPDX-License-Identifier: GPL-3.0-or-later */

/* maintenance and restart change the customer's server, and a restart in the middle of a
 * maintenance (which restarts every service itself) can break it: they hold their customer's lock
 * file while they run. It is taken here, where the work starts, so two timers firing at the same
 * minute run one after the other; the notifier's check before a `run` (run.c) only answers at
 * once. The file is the notifier's (locks.c), bound read-only into the unit: flock() needs no more,
 * and nobody outside the customer's own tasks can reach it. */

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "calendar.h"
#include "lock.h"
#include "log.h"
#include "unit.h"

static const char *const slices[] = { "/sys/fs/cgroup/system.slice", "/sys/fs/cgroup/unified/system.slice",
                                      "/sys/fs/cgroup/systemd/system.slice" };

/* Whether the unit's cgroup directory holds a process (cgroup.events of cgroup v2, cgroup.procs of
 * v1's named hierarchy). */
static bool cgroup_populated(int dir_fd, const char *unit) {
        _cleanup_free_ char *events = NULL, *procs = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[512];
        ssize_t n;

        if (asprintf(&events, "%s/cgroup.events", unit) < 0 || asprintf(&procs, "%s/cgroup.procs", unit) < 0)
                return false;
        fd = openat(dir_fd, events, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                fd = openat(dir_fd, procs, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        return strstr(buf, "populated 1") || isdigit((unsigned char) buf[0]);
}

int lock_holder(const char *customer, const char *own, const char **ret_command) {
        bool seen = false;

        *ret_command = NULL;
        for (size_t i = 0; i < ELEMENTSOF(slices) && !*ret_command; i++) {
                _cleanup_(closedirp) DIR *d = opendir(slices[i]);

                if (!d)
                        continue;
                seen = true;
                for (;;) {
                        struct dirent *de = readdir(d);
                        const char *command;

                        if (!de)
                                break;
                        command = unit_command_of(de->d_name, customer);
                        if (unit_command_exclusive(command) && !streq_ptr(de->d_name, own) &&
                            cgroup_populated(dirfd(d), de->d_name)) {
                                *ret_command = command;
                                break;
                        }
                }
        }
        return seen ? 0 : -ENOENT;
}

static void on_alarm(int sig) {
        /* Only to interrupt flock(). */
}

/* Waits for the lock up to sec seconds: 0, or -ETIME. The timer fires at the deadline and every
 * second after it, so an alarm that comes before flock() is entered cannot leave it blocked. */
static int lock_wait(int fd, unsigned sec) {
        struct sigaction sa = { .sa_handler = on_alarm }, old;
        struct itimerval timer = { .it_value = { .tv_sec = sec }, .it_interval = { .tv_sec = 1 } }, off = {};
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + (usec_t) sec * USEC_PER_SEC;
        int r;

        if (sec == 0)
                return -ETIME;
        /* No SA_RESTART: the alarm ends flock() with EINTR. */
        if (sigaction(SIGALRM, &sa, &old) < 0)
                return -errno;
        if (setitimer(ITIMER_REAL, &timer, NULL) < 0) {
                r = -errno;
                (void) sigaction(SIGALRM, &old, NULL);
                return r;
        }
        for (;;) {
                r = flock(fd, LOCK_EX) < 0 ? -errno : 0;
                if (r != -EINTR)
                        break;
                if (now_usec(CLOCK_MONOTONIC) >= deadline) {
                        r = -ETIME;
                        break;
                }
        }
        (void) setitimer(ITIMER_REAL, &off, NULL);
        (void) sigaction(SIGALRM, &old, NULL);
        return r;
}

/* The lock file bound into this unit, or -ENOENT: without the bind (no file to bind), the path may
 * be the host's own stub that systemd left there, which anyone could lock. */
static int open_bound_lock(void) {
        _cleanup_close_ int fd = open(UNIT_LOCK_PATH, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct statx stx;

        if (fd < 0)
                return -errno;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                return -errno;
        if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
            !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) || !S_ISREG(stx.stx_mode))
                return -ENOENT;
        return TAKE_FD(fd);
}

int task_lock(TaskContext *t, const char *command, bool wait, unsigned wait_sec) {
        _cleanup_free_ char *own = NULL;
        const char *holder = NULL;
        usec_t start;
        char d[32];
        int fd, r;

        fd = open_bound_lock();
        if (fd < 0) {
                if (getenv("INVOCATION_ID"))
                        log_warning_errno(fd, "No lock file bound at %s, running without it: %m",
                                          UNIT_LOCK_PATH);
                return 0;
        }
        /* Held until the task exits, whatever it does before. */
        if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                return 0;
        if (errno != EWOULDBLOCK)
                return log_warning_errno(errno, "Cannot lock %s, running without it: %m", UNIT_LOCK_PATH), 0;
        if (getenv("SCHEDULER_RUN") && asprintf(&own, "%s.service", getenv("SCHEDULER_RUN")) < 0)
                return task_fail(t, -ENOMEM, "out of memory");
        (void) lock_holder(t->customer->name, own, &holder);
        holder = holder ?: "another maintenance or restart";
        if (!wait)
                return task_fail(t, -EBUSY,
                                 "`%s` is running, so `%s` was not started. Send it again when it has "
                                 "finished.", holder, command);
        log_info("Waiting up to %u s for `%s` of %s to finish.", wait_sec, holder, t->customer->name);
        start = now_usec(CLOCK_MONOTONIC);
        r = lock_wait(fd, wait_sec);
        duration_format(now_usec(CLOCK_MONOTONIC) - start, d, sizeof(d));
        if (r == -ETIME)
                return task_fail(t, -ETIME, "skipped: `%s` was still running after %s", holder, d);
        if (r < 0)
                return log_warning_errno(r, "Cannot lock %s, running without it: %m", UNIT_LOCK_PATH), 0;
        fprintf(t->report, "This waited %s for `%s` to finish.\n", d, holder);
        return 0;
}
