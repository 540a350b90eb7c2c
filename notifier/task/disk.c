/* SPDX-License-Identifier: GPL-3.0-or-later */

/* disk: how full the customer's server is, and how big the directories they care about are. */

#include <ctype.h>

#include "ssh.h"
#include "ssh-io.h"
#include "task.h"
#include "util.h"

/* du walks every file: a big media store takes its time. */
#define DISK_TIMEOUT_SEC 120U

/* Checked when the configuration was loaded, and again here because it goes into a shell: no
 * character of it may need quoting. */
static bool disk_path_safe(const char *p) {
        if (isempty(p) || p[0] != '/' || strlen(p) > 200 || strstr(p, ".."))
                return false;
        for (; *p; p++)
                if (!isascii((unsigned char) *p) || !(isalnum((unsigned char) *p) || strchr("/._-", *p)))
                        return false;
        return true;
}

/* One fixed template. LC_ALL=C keeps df's header and numbers in the form the parser knows; the
 * paths stand in double quotes inside the single-quoted script. */
static int disk_command(char * const *disk_paths, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        fputs("env LC_ALL=C sh -c 'df -P /", f);
        if (strv_length(disk_paths) >= 2) {
                fputs(" && for p in", f);
                for (char * const *l = disk_paths; l[0] && l[1]; l += 2)
                        fprintf(f, " \"%s\"", l[1]);
                fputs("; do if [ -e \"$p\" ]; then du -sbD -- \"$p\" || exit; "
                      "else printf \"missing\\t%s\\n\" \"$p\"; fi; done", f);
        }
        fputc('\'', f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int disk_check_exit(TaskContext *t, const SshResult *res) {
        _cleanup_free_ char *last = NULL;

        if (res->exit_signal)
                return task_fail(t, -EIO, "the disk check on the server was killed by signal SIG%s",
                                 res->exit_signal);
        if (res->exit_status == 0)
                return 0;
        last = ssh_last_lines(res->err, 3, 300);
        return task_fail(t, -EIO, "the disk check on the server failed: exit status %d%s%s",
                         res->exit_status, isempty(last) ? "" : ": ", strempty(last));
}

static void disk_print(TaskContext *t, unsigned percent, const uint64_t *sizes) {
        const Customer *cu = t->customer;
        const char *domain = cu->domain ?: cu->name;
        size_t i = 0;

        fprintf(t->report, "INFO [%s] disk usage: %u%%\n", domain, percent);
        for (char * const *l = cu->disk_paths; l && l[0] && l[1]; l += 2, i++) {
                char buf[SSH_SIZE_MAX];

                fprintf(t->report, "INFO [%s] %s: %s\n", domain, l[0],
                        sizes[i] == SSH_DU_MISSING ? "not found" : ssh_format_size(sizes[i], buf));
        }
}

int task_disk(TaskContext *t) {
        const Customer *cu = t->customer;
        _cleanup_free_ char *command = NULL, *error = NULL;
        _cleanup_(ssh_result_done) SshResult res = {};
        _cleanup_free_ uint64_t *sizes = NULL;
        unsigned percent;
        int r;

        if (strv_length(t->args) > 0)
                return task_fail(t, -EINVAL, "`disk` takes no arguments");
        for (char * const *l = cu->disk_paths; l && l[0] && l[1]; l += 2)
                if (!disk_path_safe(l[1]))
                        return task_fail(t, -EINVAL, "the path configured for `%s` is not usable; we "
                                         "have been told", l[0]);
        if (disk_command(cu->disk_paths, &command) < 0)
                return task_fail(t, -ENOMEM, "out of memory");

        r = ssh_run(cu, command, DISK_TIMEOUT_SEC, &res, &error);
        if (r < 0)
                return task_fail(t, r, "%s", strempty(error));
        r = disk_check_exit(t, &res);
        if (r < 0)
                return r;
        r = ssh_parse_disk(res.out, cu->disk_paths, &percent, &sizes, &error);
        if (r == -ENOMEM)
                return task_fail(t, r, "out of memory");
        if (r < 0)
                return task_fail(t, r, "the server's answer to the disk check makes no sense: %s%s",
                                 strempty(error), res.out_truncated ? " (more than 1 MiB of output)" : "");
        disk_print(t, percent, sizes);
        return 0;
}
