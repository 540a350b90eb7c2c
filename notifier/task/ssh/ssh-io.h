/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Runs one command on a customer's server over SSH (libssh2), bounded in every step: connecting
 * (at most SSH_CONNECT_TIMEOUT_SEC), the handshake (at most SSH_HANDSHAKE_TIMEOUT_SEC),
 * authentication, the command and reading its output all happen before one deadline, and output
 * is capped. The server must present exactly
 * the configured host key, checked before authenticating. Blocking name resolution: for
 * scheduler-task, a short-lived process of its own, never for the notifier's event loop.
 *
 * The command goes to the server's shell as it is: callers build it from fixed templates and
 * values that passed strict patterns, never from customer text. */

#include <stdbool.h>

#include "config.h"

#define SSH_CONNECT_TIMEOUT_SEC 10U
#define SSH_HANDSHAKE_TIMEOUT_SEC 15U
/* Per stream; more is read and dropped, so the command can finish. */
#define SSH_OUTPUT_MAX (1024U * 1024U)

typedef struct SshResult {
        char *out;              /* stdout, NUL-terminated; NUL bytes in it became '?' */
        char *err;              /* stderr, likewise */
        bool out_truncated;
        bool err_truncated;
        int exit_status;        /* -1 when there was none (killed by a signal) */
        char *exit_signal;      /* "TERM" (without "SIG"), or NULL */
} SshResult;

void ssh_result_done(SshResult *r);

/* 0 when the command ran, whatever its exit status; then *ret holds what it said. On failure
 * -errno and *ret_error, one line for the customer: what failed and what to check. */
int ssh_run(const Customer *cu, const char *command, unsigned timeout_sec, SshResult *ret,
            char **ret_error);

/* Called with each piece of output as it comes, stdout and stderr alike (NUL bytes already '?'),
 * and with (NULL, 0) about once a second while the command is silent. */
typedef void (*ssh_output_t)(const char *data, size_t size, void *userdata);

/* ssh_run() for long commands: the output goes to on_output instead of ret->out and ret->err,
 * which stay empty; the same checks and one deadline for everything. */
int ssh_run_streaming(const Customer *cu, const char *command, unsigned timeout_sec, ssh_output_t on_output,
                      void *userdata, SshResult *ret, char **ret_error);
