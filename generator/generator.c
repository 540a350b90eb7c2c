/* SPDX-License-Identifier: GPL-3.0-or-later */

/* scheduler-generator: runs at boot and on daemon-reload, before /var may be mounted.
 * It reads only /etc, talks to no daemon, writes only into its output dir and never fails the
 * boot. Today it checks the configuration and says on the kernel log what is wrong with it;
 * re-creating the customers' schedules as timer units builds on this. */

#include "build-config.h"
#include "config.h"
#include "log.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL;
        const char *path;
        Config *c = NULL;
        int r;

        if (argc > 1 && argc != 4) {
                log_error("This program takes three or no arguments.");
                return 0;
        }
        /* Called by systemd: nobody reads our stderr, the kernel log is all there is. */
        if (argc == 4)
                log_open_kmsg("scheduler-generator");

        path = getenv("SCHEDULER_CONFIG") ?: SCHEDULER_CONFIG_PATH;
        r = config_load(path, &c, &error);
        if (r == -ENOENT)
                log_debug("%s does not exist, nothing to generate.", path);
        else if (r < 0)
                log_warning("%s, ignoring.", error ?: "Out of memory");
        else
                log_debug("%s: %zu customers.", path, c->n_customers);
        config_free(c);
        return 0;
}
