/* SPDX-License-Identifier: GPL-3.0-or-later */

/* scheduler-notifier: the Matrix side of The Scheduler. */

#include <getopt.h>
#include <malloc.h>
#include <curl/curl.h>

#include "build-config.h"
#include "log.h"
#include "loop.h"

static const char *arg_config = SCHEDULER_CONFIG_PATH;
static bool arg_check = false;

static void help(void) {
        printf("%s [OPTIONS…]\n\n"
               "The Scheduler's Matrix bot: takes customers' commands from chat and reports results.\n\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "  -c --config=PATH    Configuration file (default: %s)\n"
               "     --check-config   Check the configuration and exit\n"
               "  -v --verbose        Log debug messages too\n",
               program_invocation_short_name, SCHEDULER_CONFIG_PATH);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CHECK_CONFIG };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        int c;

        for (;;) {
                c = getopt_long(argc, argv, "hc:v", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("%s takes no positional arguments.", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;
        Manager *m = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = config_load(arg_config, CONFIG_LOAD_DEFAULT, &config, &error);
        if (r < 0) {
                log_error("Bad configuration: %s", error ?: "out of memory");
                return EXIT_FAILURE;
        }
        r = loop_check_secrets(config);
        if (r < 0)
                return EXIT_FAILURE;
        if (arg_check) {
                printf("%s: OK, %zu customers.\n", arg_config, config->n_customers);
                return EXIT_SUCCESS;
        }

        /* glibc raises its mmap threshold to the largest block freed (up to 32 MB): after the first
         * big /sync answer or file, buffers of megabytes would come from the heap, and be kept
         * there after use. Fixed, each is mapped for its use and unmapped after. */
        (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        srandom((unsigned) now_usec(CLOCK_MONOTONIC));
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("Failed to initialize libcurl.");
                return EXIT_FAILURE;
        }
        r = loop_new(config, &m);
        if (r >= 0) {
                log_info("The Scheduler %s: %zu customers, homeserver %s.", PACKAGE_VERSION,
                         config->n_customers, config->homeserver);
                r = loop_run(m);
                if (r < 0)
                        log_error_errno(r, "Event loop failed: %m");
        }
        loop_free(m);
        curl_global_cleanup();
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
