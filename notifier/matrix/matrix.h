/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Requests to the homeserver's client-server API over curl on the sd_event loop. The access token
 * goes only into an Authorization header, never into a URL or a log line. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct MatrixClient MatrixClient;
typedef struct MatrixRequest MatrixRequest;

typedef struct MatrixResponse {
        int error;                 /* < 0: no HTTP answer (connection refused, timeout, …) */
        long status;               /* HTTP status, 0 without an answer */
        json_t *json;              /* the parsed body, NULL if none or not JSON */
        const char *errcode;       /* "M_FORBIDDEN", … or NULL */
        const char *errmsg;
        uint64_t retry_after_ms;   /* 0 unless the homeserver asked us to wait */
} MatrixResponse;

typedef void (*matrix_callback_t)(MatrixRequest *req, const MatrixResponse *resp, void *userdata);

int matrix_client_new(sd_event *event, const char *homeserver, MatrixClient **ret);
MatrixClient *matrix_client_free(MatrixClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(MatrixClient *, matrix_client_free);
int matrix_client_set_token(MatrixClient *c, const char *token);
bool matrix_client_has_token(const MatrixClient *c);
unsigned matrix_client_in_flight(const MatrixClient *c);

/* path starts with "/_matrix/…" and has every variable part escaped with matrix_escape().
 * The callback runs once; the request is freed after it returns. */
int matrix_request(MatrixClient *c, const char *method, const char *path, json_t *body, unsigned timeout_ms,
                   matrix_callback_t callback, void *userdata, MatrixRequest **ret);
void matrix_request_cancel(MatrixRequest *r);

char *matrix_escape(const char *s);
/* Fills resp from a status and body; pure, so the tests feed it whatever a homeserver might send. */
void matrix_response_parse(long status, const char *body, size_t size, MatrixResponse *resp);
/* Worth trying again later: no answer, 5xx, or 429. */
bool matrix_response_retryable(const MatrixResponse *resp);
