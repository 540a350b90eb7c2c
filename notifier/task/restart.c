/* SPDX-License-Identifier: GPL-3.0-or-later */

/* restart SERVICE: restarts one of the customer's Matrix services and says how it is now. */

#include <ctype.h>

#include "services.h"
#include "ssh.h"
#include "ssh-io.h"
#include "task.h"
#include "util.h"

/* Synapse can take a while to stop and start. */
#define RESTART_TIMEOUT_SEC 120U

/* service_resolve() allows only these; checked again because the name goes into a shell, in
 * single quotes that none of these characters can end. */
static bool unit_name_safe(const char *s) {
        if (!startswith(s, "matrix-") || strlen(s) > 200)
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || strchr("-_.@:", *s)))
                        return false;
        return true;
}

/* Runs one systemctl command line; a non-zero exit is a failure with the end of its stderr. */
static int run_systemctl(TaskContext *t, const char *what, const char *command, SshResult *ret) {
        _cleanup_free_ char *error = NULL, *last = NULL;
        int r;

        r = ssh_run(t->customer, command, RESTART_TIMEOUT_SEC, ret, &error);
        if (r < 0)
                return task_fail(t, r, "%s", strempty(error));
        if (ret->exit_status == 0 && !ret->exit_signal)
                return 0;
        if (ret->exit_signal)
                return task_fail(t, -EIO, "%s was killed by signal SIG%s", what, ret->exit_signal);
        last = ssh_last_lines(ret->err, 3, 300);
        return task_fail(t, -EIO, "%s failed: exit status %d%s%s", what, ret->exit_status,
                         isempty(last) ? "" : ": ", strempty(last));
}

static int restart_unit(TaskContext *t, const char *unit, UnitState *ret) {
        _cleanup_(ssh_result_done) SshResult restarted = {}, shown = {};
        _cleanup_free_ char *what = NULL, *command = NULL, *error = NULL;
        int r;

        if (asprintf(&what, "systemctl restart %s", unit) < 0 ||
            asprintf(&command, "systemctl restart -- '%s'", unit) < 0)
                return task_fail(t, -ENOMEM, "out of memory");
        r = run_systemctl(t, what, command, &restarted);
        if (r < 0)
                return r;

        command = mfree(command);
        what = mfree(what);
        if (asprintf(&what, "systemctl show %s", unit) < 0 ||
            asprintf(&command, "systemctl show -p ActiveState -p SubState -p ActiveEnterTimestamp -- '%s'",
                     unit) < 0)
                return task_fail(t, -ENOMEM, "out of memory");
        r = run_systemctl(t, what, command, &shown);
        if (r < 0)
                return r;
        r = ssh_parse_unit_state(shown.out, ret, &error);
        if (r == -ENOMEM)
                return task_fail(t, r, "out of memory");
        if (r < 0)
                return task_fail(t, r, "`%s` was restarted, but what the server says about it makes no "
                                 "sense: %s", unit, strempty(error));
        return 0;
}

int task_restart(TaskContext *t) {
        const char *unit = NULL;
        UnitState st;
        int r;

        if (strv_length(t->args) != 1)
                return task_fail(t, -EINVAL, "`restart` takes one service name, like `restart slack`");
        r = service_resolve(t->customer, t->args[0], &unit);
        /* Not echoed: it may hold anything, a backtick or a line break included. */
        if (r == -EINVAL)
                return task_fail(t, r, "a service name has only letters, digits and -_.@:; use a name like "
                                 "`slack` or a full `matrix-…` service name");
        if (r < 0)
                return task_fail(t, r, "`%s` is not a service I know; use a name like `slack` or a full "
                                 "`matrix-…` service name", t->args[0]);
        if (!unit_name_safe(unit))
                return task_fail(t, -EINVAL, "the service `%s` is configured with a unit name I cannot use; "
                                 "we have been told", t->args[0]);

        r = restart_unit(t, unit, &st);
        if (r < 0)
                return r;
        if (!streq(st.active, "active") && !streq(st.active, "activating") && !streq(st.active, "reloading"))
                return task_fail(t, -EIO, "`%s` was restarted but is now %s (%s)", unit, st.active, st.sub);
        fprintf(t->report, "`%s` restarted: %s (%s)%s%s\n", unit, st.active, st.sub,
                isempty(st.since) ? "" : " since ", st.since);
        return 0;
}
