/* SPDX-License-Identifier: GPL-3.0-or-later */

/* scheduler-task CUSTOMER COMMAND [ARGS…]: runs one command for one customer, as the ExecStart of
 * a transient service. The commands themselves are not built yet: this says so and fails, so
 * nothing pretends to have run. */

#include "log.h"

int main(int argc, char *argv[]) {
        if (argc < 3) {
                log_error("Usage: %s CUSTOMER COMMAND [ARGS…]", program_invocation_short_name);
                return EXIT_FAILURE;
        }
        log_error("%s: command '%s' is not implemented yet.", program_invocation_short_name, argv[2]);
        return EXIT_FAILURE;
}
