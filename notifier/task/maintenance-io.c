/* SPDX-License-Identifier: GPL-3.0-or-later */

/* maintenance: what the operator configured for the customer's branch ([branch NAME] command on
 * this host or ssh_command on the server), or the built-in script over SSH. Its output is read as
 * it comes: each line goes to the journal, a step marker becomes a progress entry for the
 * notifier. Then the ping checks say what is still wrong ("Identified issues"). */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <systemd/sd-journal.h>

#include "checks.h"
#include "log.h"
#include "maintenance.h"
#include "ssh-io.h"
#include "task.h"

/* A stopped command gets this long to end after SIGTERM, then SIGKILL. */
#define KILL_GRACE_USEC (10ULL * USEC_PER_SEC)

typedef struct Maintenance {
        TaskContext *t;
        LineSplitter split;
        LastLines last;
        StepThrottle steps;
        char **notices;
        int error;             /* out of memory while reading */
} Maintenance;

/* The same fields as the result entry, so the notifier knows whose run and which message: a
 * progress entry for each step. */
static void progress_send(Maintenance *m, const char *step) {
        const char *customer = m->t->customer->name;
        int r;

        r = sd_journal_send("MESSAGE=maintenance for %s: %s", customer, step, "PRIORITY=%i", LOG_INFO,
                            "SCHEDULER_EVENT=progress", "SCHEDULER_STEP=%s", step, "SCHEDULER_CUSTOMER=%s",
                            customer, "SCHEDULER_COMMAND=maintenance", "SCHEDULER_MODE=%s",
                            getenv("SCHEDULER_MODE") ?: "run", "SCHEDULER_ROOM=%s",
                            strempty(getenv("SCHEDULER_ROOM")), "SCHEDULER_REPLY_TO=%s",
                            strempty(getenv("SCHEDULER_REPLY_TO")), "SCHEDULER_RUN=%s",
                            strempty(getenv("SCHEDULER_RUN")), "SCHEDULER_INVOCATION=%s",
                            strempty(getenv("INVOCATION_ID")), "SCHEDULER_STARTED=%llu", m->t->started,
                            NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to write progress to the journal, ignoring: %m");
}

static void progress_flush(Maintenance *m) {
        const char *step = step_throttle_due(&m->steps, now_usec(CLOCK_MONOTONIC));

        if (step)
                progress_send(m, step);
}

static void on_line(const char *raw, void *userdata) {
        _cleanup_free_ char *line = strdup(raw);
        Maintenance *m = userdata;
        char *step = NULL, *notice = NULL;
        int r;

        if (!line) {
                m->error = -ENOMEM;
                return;
        }
        /* The server's words: no escape sequence for a terminal, no "<0>" read as a priority. For
         * journalctl readers, and the notifier if the run is killed. */
        string_replace_controls(line, false);
        log_text(stdout, line);
        fflush(stdout);
        r = last_lines_push(&m->last, line);
        if (r >= 0)
                r = maintenance_step_parse(line, &step);
        if (r > 0)
                step_throttle_set(&m->steps, step);
        if (r >= 0)
                r = maintenance_notice_parse(line, &notice);
        if (r > 0 && (strv_length(m->notices) >= MAINTENANCE_NOTICES_MAX ||
                      strv_push(&m->notices, notice) < 0))
                free(notice);
        if (r < 0)
                m->error = r;
        progress_flush(m);
}

static void on_output(const char *data, size_t size, void *userdata) {
        Maintenance *m = userdata;

        if (data)
                line_splitter_feed(&m->split, data, size);
        progress_flush(m);
}

static void kill_and_reap(pid_t pid, int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        (void) kill(-pid, SIGTERM);
        if (poll(&p, 1, (int) (KILL_GRACE_USEC / USEC_PER_MSEC)) <= 0)
                (void) kill(-pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

static pid_t spawn(char **argv, char **env, int out_fd) {
        pid_t pid = fork();
        int null;

        if (pid != 0)
                return pid;
        /* Its own process group, so a timeout stops everything it started. */
        (void) setsid();
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(out_fd, STDERR_FILENO) < 0)
                _exit(127);
        execve(argv[0], argv, env);
        fprintf(stderr, "Cannot run %s: %m\n", argv[0]);
        _exit(127);
}

/* Reads the command's output until it exits (or the deadline); returns its wait status. */
static int local_wait(Maintenance *m, pid_t pid, int pidfd, int fd, unsigned timeout_sec, int *ret_status) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_sec * USEC_PER_SEC;
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
        char buf[16 * 1024];
        bool exited = false;

        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                ssize_t n;

                if (now >= deadline) {
                        kill_and_reap(pid, pidfd);
                        return -ETIMEDOUT;
                }
                if (poll(p, 2, (int) MIN((deadline - now) / USEC_PER_MSEC + 1, 1000ULL)) < 0 &&
                    errno != EINTR)
                        return -errno;
                exited = exited || (p[1].revents & POLLIN);
                /* After the exit only what is left in the pipe, not what a child left running says. */
                while (p[0].fd >= 0) {
                        n = read(fd, buf, sizeof(buf));
                        if (n <= 0)
                                break;
                        on_output(buf, (size_t) n, m);
                }
                if (p[0].fd >= 0 && n == 0)
                        p[0].fd = -1;   /* closed its output; wait for the exit */
                if (exited)
                        break;
                on_output(NULL, 0, m);
        }
        if (waitpid(pid, ret_status, 0) < 0)
                return -errno;
        return 0;
}

static int run_local(Maintenance *m, char **argv, unsigned timeout_sec) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF, pidfd = -EBADF;
        TaskContext *t = m->t;
        int fds[2], status = 0, r;
        pid_t pid;

        if (maintenance_environment(t->customer, &env) < 0 || pipe2(fds, O_CLOEXEC) < 0)
                return task_fail(t, -errno ?: -ENOMEM, "the maintenance could not be started");
        rfd = fds[0];
        wfd = fds[1];
        fflush(stdout);
        pid = spawn(argv, env, wfd);
        if (pid < 0)
                return task_fail(t, -errno, "the maintenance could not be started: %m");
        close(TAKE_FD(wfd));
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0 || fcntl(rfd, F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                (void) kill(-pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return task_fail(t, r, "the maintenance could not be watched: %s", strerror(-r));
        }
        r = local_wait(m, pid, pidfd, rfd, timeout_sec, &status);
        if (r == -ETIMEDOUT)
                return task_fail(t, r, "the maintenance took longer than %u min and was stopped",
                                 timeout_sec / 60);
        if (r < 0)
                return task_fail(t, r, "the maintenance could not be watched: %s", strerror(-r));
        if (WIFSIGNALED(status))
                return task_fail(t, -EIO, "the maintenance was killed by signal %d", WTERMSIG(status));
        if (WEXITSTATUS(status) != 0)
                return task_fail(t, -EIO, "the maintenance failed: exit status %d", WEXITSTATUS(status));
        return 0;
}

static int run_ssh(Maintenance *m, const char *command, unsigned timeout_sec) {
        _cleanup_(ssh_result_done) SshResult res = {};
        _cleanup_free_ char *error = NULL;
        TaskContext *t = m->t;
        int r;

        r = ssh_run_streaming(t->customer, command, timeout_sec, on_output, m, &res, &error);
        if (r == -ETIMEDOUT && error && strstr(error, "timed out after"))
                return task_fail(t, r, "the maintenance took longer than %u min and was stopped",
                                 timeout_sec / 60);
        if (r < 0)
                return task_fail(t, r, "%s", strempty(error));
        if (res.exit_signal)
                return task_fail(t, -EIO, "the maintenance was killed by signal SIG%s", res.exit_signal);
        if (res.exit_status != 0)
                return task_fail(t, -EIO, "the maintenance failed: exit status %d", res.exit_status);
        return 0;
}

/* "Identified issues:" and the red checks of a ping run now, or that there are none. */
static int write_issues(TaskContext *t) {
        _cleanup_free_ char *scratch = NULL;
        size_t size = 0;
        CheckList all = {}, red = {};
        TaskContext quiet = *t;
        int r;

        /* ping's INFO line is not news after a maintenance. */
        quiet.report = open_memstream(&scratch, &size);
        if (!quiet.report)
                return -ENOMEM;
        r = ping_collect(&quiet, &all);
        fclose(quiet.report);
        if (r >= 0) {
                red.items = calloc(all.n + 1, sizeof(Check));
                r = red.items ? 0 : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < all.n; i++)
                if (!all.items[i].ok)
                        red.items[red.n++] = all.items[i];
        if (r >= 0 && red.n == 0)
                fputs("Identified issues: none found.\n", t->report);
        else if (r >= 0) {
                fputs("Identified issues:\n", t->report);
                checks_write(t->report, &red, t->config->help_url);
        }
        free(red.items);        /* the texts belong to all */
        checks_done(&all);
        return r;
}

static void write_report(Maintenance *m, int r) {
        FILE *f = m->t->report;

        for (char **i = m->notices; i && *i; i++)
                fprintf(f, "%s\n", *i);
        if (r < 0 && m->last.n > 0) {
                fputs("The last lines of its output:\n", f);
                last_lines_write(f, &m->last);
        }
}

int task_maintenance(TaskContext *t) {
        const BranchConfig *b;
        Maintenance m = { .t = t };
        int r, k;

        if (strv_length(t->args) > 0)
                return task_fail(t, -EINVAL, "`maintenance` takes no arguments");
        b = &t->config->branches[t->customer->branch];
        m.split = (LineSplitter) { .on_line = on_line, .userdata = &m };
        log_info("Maintenance of %s on branch %s: %s.", t->customer->name,
                 branch_to_string(t->customer->branch),
                 b->command ? b->command[0] : b->ssh_command ? "its ssh_command" : "the built-in one");

        if (b->command)
                r = run_local(&m, b->command, b->timeout_sec);
        else
                r = run_ssh(&m, b->ssh_command ?: maintenance_builtin_script, b->timeout_sec);
        line_splitter_flush(&m.split);
        if (m.error < 0 && r >= 0)
                r = task_fail(t, m.error, "out of memory");

        write_report(&m, r);
        k = write_issues(t);
        if (k < 0 && r >= 0)
                r = task_fail(t, k, "out of memory");
        last_lines_done(&m.last);
        step_throttle_done(&m.steps);
        strv_free(m.notices);
        return r;
}
