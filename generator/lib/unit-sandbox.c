/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Where a unit's sandboxing is decided: what a task may see and do while it runs. */

#include <unistd.h>

#include "build-config.h"
#include "unit.h"
#include "util.h"

/* A task reads its configuration and its customer's SSH key, talks to the customer's server and
 * the resolver, writes to the journal and nothing else. It runs as a user of its own that exists
 * while it runs (DynamicUser=): not the notifier's, so it can read no other customer's key, nor
 * the notifier's state, and has no right to create units; systemd hands it its own key
 * (LoadCredential=, read by PID 1 from the file only the notifier's user may read). No
 * capabilities and little of the system in sight (systemd-analyze security ≤ 2.0). */
int unit_add_sandboxing(UnitSpec *u, const RunSpec *r) {
        static const char *const yes[] = { "NoNewPrivileges", "PrivateTmp", "PrivateDevices", "PrivateUsers",
                                           "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules",
                                           "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
                                           "ProtectHostname", "RestrictNamespaces", "RestrictRealtime",
                                           "RestrictSUIDSGID", "LockPersonality", "RemoveIPC" };
        int k = 0;

        k |= unit_add(u, SECTION_SERVICE, "DynamicUser", "yes");
        /* A key that is not there would fail the unit before it could say why: without it the task
         * says it cannot read the key. */
        if (r->ssh_key && access(r->ssh_key, F_OK) >= 0)
                k |= unit_add(u, SECTION_SERVICE, "LoadCredential", UNIT_SSH_KEY_CREDENTIAL ":%s",
                              r->ssh_key);
        /* Its customer's lock and no other: the directory is closed to everyone else (task/lock.c).
         * The notifier makes the lock files as it starts: a timer that fires at boot (one missed
         * while the host was down) waits for it. Ordering only: without a notifier, tasks run. */
        k |= unit_add(u, SECTION_UNIT, "After", "scheduler-notifier.service");
        k |= unit_add(u, SECTION_SERVICE, "BindReadOnlyPaths",
                      "-" SCHEDULER_LOCK_DIR "/%s.lock:" UNIT_LOCK_PATH, r->customer);
        k |= unit_add(u, SECTION_SERVICE, "ProtectSystem", "strict");
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                k |= unit_add(u, SECTION_SERVICE, yes[i], "yes");
        k |= unit_add(u, SECTION_SERVICE, "ProtectProc", "invisible");
        k |= unit_add(u, SECTION_SERVICE, "ProcSubset", "pid");
        k |= unit_add(u, SECTION_SERVICE, "CapabilityBoundingSet", "%s", "");
        k |= unit_add(u, SECTION_SERVICE, "RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6");
        k |= unit_add(u, SECTION_SERVICE, "SystemCallArchitectures", "native");
        k |= unit_add(u, SECTION_SERVICE, "UMask", "0077");
        /* A sanitized build's LeakSanitizer needs ptrace and executable memory when the task ends. */
        if (!SCHEDULER_SANITIZED) {
                k |= unit_add(u, SECTION_SERVICE, "MemoryDenyWriteExecute", "yes");
                k |= unit_add(u, SECTION_SERVICE, "SystemCallFilter", "@system-service");
                k |= unit_add(u, SECTION_SERVICE, "SystemCallFilter", "~@privileged @resources");
                k |= unit_add(u, SECTION_SERVICE, "SystemCallErrorNumber", "EPERM");
        }
        return k < 0 ? -ENOMEM : 0;
}
