/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The lanes towards the homeserver: the sync lane logs in and long-polls /sync, the send lane does
 * the ops. Each has at most one request in flight and its own back-off; an answer that says our
 * token is gone sends the sync lane back to log in. */

#include <systemd/sd-daemon.h>

#include "lanes.h"
#include "log.h"

#define BACKOFF_MIN_USEC (500ULL * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (30ULL * USEC_PER_SEC)
#define RETRY_AFTER_MAX_MS (10ULL * 60ULL * 1000ULL)

bool lane_busy(const Lane *l) {
        return l->request || l->slot || sd_event_source_get_enabled(l->retry, NULL) > 0;
}

/* Exponential, with jitter so many bots do not come back at the same instant; and never sooner
 * than the homeserver asked. */
static uint64_t backoff_usec(unsigned failures, uint64_t retry_after_ms) {
        uint64_t d = BACKOFF_MIN_USEC;

        for (unsigned i = 1; i < failures && d < BACKOFF_MAX_USEC; i++)
                d *= 2;
        if (d > BACKOFF_MAX_USEC)
                d = BACKOFF_MAX_USEC;
        d = d / 2 + (uint64_t) random() % (d / 2 + 1);
        if (retry_after_ms > RETRY_AFTER_MAX_MS)
                retry_after_ms = RETRY_AFTER_MAX_MS;
        if (retry_after_ms * USEC_PER_MSEC > d)
                d = retry_after_ms * USEC_PER_MSEC;
        return d;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_wake(userdata);
        return 0;
}

void lane_retry_later(Manager *m, Lane *l, const MatrixResponse *resp) {
        uint64_t d = backoff_usec(++l->failures, resp->retry_after_ms);
        int r;

        if (resp->error < 0)
                log_warning_errno(resp->error, "%s: homeserver unreachable (%m), retrying in %.1f s.",
                                  l->name, (double) d / USEC_PER_SEC);
        else
                log_warning("%s: HTTP %li %s, retrying in %.1f s.", l->name, resp->status,
                            strempty(resp->errcode), (double) d / USEC_PER_SEC);
        (void) sd_notifyf(false, "STATUS=Homeserver trouble (%s), retrying", l->name);

        r = sd_event_source_set_time_relative(l->retry, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->retry, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the retry timer: %m");
                manager_exit(m, EXIT_FAILURE);
        }
}

void lane_succeeded(Manager *m, Lane *l) {
        if (l->failures > 0 && m->ready)
                (void) sd_notify(false, "STATUS=Connected to the homeserver");
        l->failures = 0;
        if (l == &m->send) {
                m->ahead_held = false;
                m->ahead_stale = true;
        }
}

int lane_request(Manager *m, Lane *l, const char *method, const char *path, json_t *body,
                 unsigned timeout_ms, matrix_callback_t cb) {
        int r;

        r = matrix_request(m->matrix, method, path, body, timeout_ms, cb, m, &l->request);
        if (r < 0) {
                log_error_errno(r, "Failed to start a request to the homeserver: %m");
                manager_exit(m, EXIT_FAILURE);
        }
        return r;
}

void lane_cancel(Lane *l) {
        matrix_request_cancel(l->request);
        l->request = NULL;
        l->slot = sd_bus_slot_unref(l->slot);
        (void) sd_event_source_set_enabled(l->retry, SD_EVENT_OFF);
}

/* The token went bad: log in again with the password, keeping our device. */
bool lanes_token_rejected(Manager *m, const MatrixResponse *resp) {
        if (resp->status != 401 || !streq_ptr(resp->errcode, "M_UNKNOWN_TOKEN"))
                return false;
        if (!m->password) {
                log_error("The homeserver rejected the access token from %s.", m->config->access_token_file);
                manager_exit(m, EXIT_FAILURE);
                return true;
        }
        log_warning("The homeserver rejected our access token; logging in again.");
        (void) matrix_client_set_token(m->matrix, NULL);
        (void) state_set_session(m->state, m->state->device_id, NULL);
        /* A long-poll with the old token would only fail later: start over now. */
        lane_cancel(&m->sync);
        manager_wake(m);
        return true;
}

bool lane_answered(Manager *m, Lane *l, const MatrixResponse *resp) {
        l->request = NULL;
        if (lanes_token_rejected(m, resp))
                return false;
        if (matrix_response_retryable(resp)) {
                lane_retry_later(m, l, resp);
                return false;
        }
        lane_succeeded(m, l);
        return true;
}

int lane_init(Manager *m, Lane *l, const char *name) {
        int r;

        l->name = name;
        r = sd_event_add_time(m->event, &l->retry, CLOCK_MONOTONIC, 0, 0, on_retry, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(l->retry, SD_EVENT_OFF);
}
