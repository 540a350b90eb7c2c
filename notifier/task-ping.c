/* SPDX-License-Identifier: GPL-3.0-or-later */

/* ping: is the server reachable, and how busy are its CPU, memory and disk. A failed check is a
 * red line of the report, not a failed command: the customer asked how things are. */

#include "checks.h"
#include "ssh.h"
#include "task.h"
#include "util.h"

#define PING_TIMEOUT_SEC 30U

/* "RAM utilization is ~77%", red with the recommendation at or above the threshold. */
static int threshold_check(CheckList *l, const char *anchor, const char *label, unsigned value,
                           unsigned threshold) {
        if (value < threshold)
                return checks_add(l, true, anchor, "%s utilization is ~%u%%", label, value);
        return checks_add(l, false, anchor, "%s utilization is ~%u%%: recommended is below %u%%", label,
                          value, threshold);
}

static int check_resources(TaskContext *t, CheckList *l) {
        _cleanup_(ssh_result_done) SshResult res = {};
        _cleanup_free_ char *error = NULL;
        const Customer *cu = t->customer;
        const char *why = NULL;
        Resources r;
        int k;

        if (ssh_run(cu, RESOURCES_COMMAND, PING_TIMEOUT_SEC, &res, &error) < 0)
                return checks_add(l, false, "ssh", "%s (SSH): %s", cu->ssh_host, strempty(error));
        if (res.exit_status != 0 || resources_parse(res.out, &r, &why) < 0)
                return checks_add(l, false, "ssh", "%s (SSH): the resource figures make no sense (%s)",
                                  cu->ssh_host, why ?: "the command failed");
        fprintf(t->report, "INFO [%s] disk usage: %u%%\n", cu->domain, r.disk);
        k = threshold_check(l, "cpu", "CPU", r.cpu, cu->cpu_threshold);
        if (k >= 0)
                k = threshold_check(l, "disk", "Disk", r.disk, cu->disk_threshold);
        if (k >= 0)
                k = threshold_check(l, "ram", "RAM", r.ram, cu->ram_threshold);
        return k;
}

int ping_collect(TaskContext *t, CheckList *l) {
        return check_resources(t, l);
}

int task_ping(TaskContext *t) {
        CheckList l = {};
        int r;

        if (strv_length(t->args) > 0)
                return task_fail(t, -EINVAL, "`ping` takes no arguments");
        r = ping_collect(t, &l);
        if (r < 0) {
                checks_done(&l);
                return task_fail(t, r, "out of memory");
        }
        checks_write(t->report, &l, t->config->help_url);
        checks_done(&l);
        return 0;
}
