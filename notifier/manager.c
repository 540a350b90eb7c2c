/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The notifier's loop: log in, long-poll /sync, turn each batch into ops, do the ops one by one,
 * and only then save the /sync position. A crash anywhere repeats at most the last batch, and
 * the repeat's transaction ids make the homeserver drop what it already accepted. */

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"

#define SYNC_TIMEOUT_MS 30000U
#define REQUEST_TIMEOUT_MS 30000U
#define BACKOFF_MIN_USEC (500ULL * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (30ULL * USEC_PER_SEC)
#define RETRY_AFTER_MAX_MS (10ULL * 60ULL * 1000ULL)
#define QUIT_GRACE_USEC (10ULL * USEC_PER_SEC)

static void manager_step(Manager *m);

int manager_queue_op(Manager *m, Op *op) {
        if (m->ops_tail)
                m->ops_tail->next = op;
        else
                m->ops = op;
        m->ops_tail = op;
        return 0;
}

static void manager_pop_op(Manager *m) {
        Op *op = m->ops;

        m->ops = op->next;
        if (!m->ops)
                m->ops_tail = NULL;
        op_free(op);
}

static void manager_exit(Manager *m, int code) {
        int r;

        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save %s: %m", m->state->path);
        (void) sd_notify(false, "STOPPING=1");
        (void) sd_event_exit(m->event, code);
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
        manager_step(userdata);
        return 0;
}

static void manager_retry_later(Manager *m, const char *what, const MatrixResponse *resp) {
        uint64_t d = backoff_usec(++m->failures, resp->retry_after_ms);
        int r;

        if (resp->error < 0)
                log_warning_errno(resp->error, "%s: homeserver unreachable (%m), retrying in %.1f s.", what,
                                  (double) d / USEC_PER_SEC);
        else
                log_warning("%s: HTTP %li %s, retrying in %.1f s.", what, resp->status, strempty(resp->errcode),
                            (double) d / USEC_PER_SEC);
        (void) sd_notifyf(false, "STATUS=Homeserver trouble (%s), retrying", what);

        r = sd_event_source_set_time_relative(m->retry_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->retry_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the retry timer: %m");
                manager_exit(m, EXIT_FAILURE);
        }
}

static void manager_succeeded(Manager *m) {
        if (m->failures > 0)
                (void) sd_notify(false, "STATUS=Connected to the homeserver");
        m->failures = 0;
}

static int manager_start_request(Manager *m, const char *method, const char *path, json_t *body,
                                 unsigned timeout_ms, matrix_callback_t cb) {
        int r;

        r = matrix_request(m->matrix, method, path, body, timeout_ms, cb, m, &m->request);
        if (r < 0) {
                log_error_errno(r, "Failed to start a request to the homeserver: %m");
                manager_exit(m, EXIT_FAILURE);
        }
        return r;
}

/* The token went bad: log in again with the password, keeping our device. */
static bool manager_token_rejected(Manager *m, const MatrixResponse *resp) {
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
        manager_step(m);
        return true;
}

static void on_login(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        const char *token, *device;
        int r;

        m->request = NULL;
        if (matrix_response_retryable(resp))
                return manager_retry_later(m, "login", resp);
        token = json_string_value(json_object_get(resp->json, "access_token"));
        device = json_string_value(json_object_get(resp->json, "device_id"));
        if (resp->status != 200 || isempty(token) || isempty(device)) {
                log_error("The homeserver refused to log in %s: HTTP %li %s %s", m->config->user_id,
                          resp->status, strempty(resp->errcode), strempty(resp->errmsg));
                return manager_exit(m, EXIT_FAILURE);
        }
        manager_succeeded(m);
        log_info("Logged in as %s, device %s.", m->config->user_id, device);
        r = state_set_session(m->state, device, token);
        if (r >= 0)
                r = matrix_client_set_token(m->matrix, token);
        if (r >= 0)
                r = state_save(m->state);
        if (r < 0) {
                log_error_errno(r, "Failed to keep the new session in %s: %m", m->state->path);
                return manager_exit(m, EXIT_FAILURE);
        }
        manager_step(m);
}

static void manager_login(Manager *m) {
        json_auto_t *body = NULL;

        body = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s?, s:s}", "type", "m.login.password", "identifier", "type",
                         "m.id.user", "user", m->config->user_id, "password", m->password, "device_id",
                         m->state->device_id, "initial_device_display_name", m->config->device_name);
        if (!body) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        (void) manager_start_request(m, "POST", "/_matrix/client/v3/login", body, REQUEST_TIMEOUT_MS, on_login);
}

static void manager_commit(Manager *m) {
        int r;

        r = state_set_since(m->state, m->pending_since);
        if (r >= 0)
                r = state_save(m->state);
        /* Not fatal: a restart repeats the batch and the transaction ids keep replies single. */
        if (r < 0)
                log_error_errno(r, "Failed to save the sync position to %s, continuing: %m", m->state->path);
        m->pending_since = mfree(m->pending_since);

        if (!m->ready) {
                m->ready = true;
                (void) sd_notify(false, "READY=1\nSTATUS=Connected to the homeserver");
                log_info("Synced with %s; ready.", m->config->homeserver);
        }
}

static void on_sync(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *batch = NULL;
        Manager *m = userdata;
        int r;

        m->request = NULL;
        if (manager_token_rejected(m, resp))
                return;
        if (matrix_response_retryable(resp) || resp->status != 200)
                return manager_retry_later(m, "sync", resp);
        r = matrix_sync_parse(resp->json, m->config->user_id, &batch);
        if (r == -ENOMEM) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        if (r < 0) {
                MatrixResponse bad = { .status = resp->status, .errcode = "(not a sync answer)" };
                return manager_retry_later(m, "sync", &bad);
        }
        manager_succeeded(m);

        r = handler_process_batch(m, batch, !m->state->since);
        if (r < 0)
                return manager_exit(m, EXIT_FAILURE);
        m->pending_since = TAKE_PTR(batch->next_batch);
        manager_step(m);
}

static void manager_sync(Manager *m) {
        _cleanup_free_ char *filter = NULL, *since = NULL, *path = NULL;
        bool initial = !m->state->since;
        int r;

        filter = matrix_escape(matrix_sync_filter());
        since = initial ? strdup("") : matrix_escape(m->state->since);
        if (!filter || !since) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        /* The first sync after a start answers at once, so we are ready (READY=1) without waiting
         * for someone to speak; later ones wait on the homeserver for news. */
        r = asprintf(&path, "/_matrix/client/v3/sync?set_presence=offline&filter=%s&timeout=%u%s%s", filter,
                     m->ready ? SYNC_TIMEOUT_MS : 0, initial ? "" : "&since=", since);
        if (r < 0) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        (void) manager_start_request(m, "GET", path, NULL, SYNC_TIMEOUT_MS + 4 * REQUEST_TIMEOUT_MS, on_sync);
}

static void on_op(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;

        m->request = NULL;
        if (manager_token_rejected(m, resp))
                return;
        if (matrix_response_retryable(resp))
                return manager_retry_later(m, op->kind == OP_SEND ? "send" : "join", resp);
        manager_succeeded(m);

        if (resp->status != 200)
                /* Kicked, banned, room gone: trying again changes nothing. */
                log_warning("The homeserver refused to %s %s: HTTP %li %s %s; dropping it.",
                            op->kind == OP_SEND ? "send to" : op->kind == OP_JOIN ? "join" : "leave", op->room_id,
                            resp->status, strempty(resp->errcode), strempty(resp->errmsg));
        else if (op->kind == OP_JOIN && state_set_room(m->state, op->customer, op->room_id) < 0) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        manager_pop_op(m);
        manager_step(m);
}

static void manager_do_op(Manager *m, Op *op) {
        _cleanup_free_ char *room = NULL, *txn = NULL, *path = NULL;
        json_auto_t *empty = NULL;
        int r;

        room = matrix_escape(op->room_id);
        txn = op->txn_id ? matrix_escape(op->txn_id) : strdup("");
        empty = json_object();
        if (!room || !txn || !empty) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        if (op->kind == OP_SEND)
                r = asprintf(&path, "/_matrix/client/v3/rooms/%s/send/m.room.message/%s", room, txn);
        else if (op->kind == OP_JOIN)
                r = asprintf(&path, "/_matrix/client/v3/join/%s", room);
        else
                r = asprintf(&path, "/_matrix/client/v3/rooms/%s/leave", room);
        if (r < 0) {
                (void) log_oom();
                return manager_exit(m, EXIT_FAILURE);
        }
        (void) manager_start_request(m, op->kind == OP_SEND ? "PUT" : "POST", path,
                                     op->kind == OP_SEND ? op->content : empty, REQUEST_TIMEOUT_MS, on_op);
}

/* Decides what comes next; called after every answer and retry. One request at a time keeps
 * replies in the order the commands came, and the /sync position behind every reply. */
static void manager_step(Manager *m) {
        if (m->request || sd_event_source_get_enabled(m->retry_timer, NULL) > 0)
                return;
        if (!matrix_client_has_token(m->matrix)) {
                if (!m->quitting)
                        manager_login(m);
                else
                        manager_exit(m, EXIT_SUCCESS);
                return;
        }
        if (m->ops)
                return manager_do_op(m, m->ops);
        if (m->pending_since)
                manager_commit(m);
        if (m->quitting)
                return manager_exit(m, EXIT_SUCCESS);
        manager_sync(m);
}

static int on_quit_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Homeserver still not accepting the last replies; they go out after the next start.");
        manager_exit(m, EXIT_SUCCESS);
        return 0;
}

/* SIGTERM/SIGINT: stop listening, send what is already decided, save, leave. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->quitting)
                return 0;
        m->quitting = true;
        log_info("Received %s, finishing in-flight replies.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Finishing in-flight replies");

        if (!m->ops) {
                /* Nothing owed: a /sync or login in flight can simply be dropped. */
                matrix_request_cancel(m->request);
                m->request = NULL;
                (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
        }
        r = sd_event_add_time_relative(m->event, &m->quit_timer, CLOCK_MONOTONIC, QUIT_GRACE_USEC, 0,
                                       on_quit_timeout, m);
        if (r < 0)
                manager_exit(m, EXIT_SUCCESS);
        else
                manager_step(m);
        return 0;
}

static void warn_if_exposed(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                log_warning_errno(errno, "Secret file %s: %m", path);
        else if (st.st_mode & 0077)
                log_warning("%s is readable by group or others; make it mode 0600.", path);
}

static int manager_read_secrets(Manager *m) {
        const char *path = m->config->password_file ?: m->config->access_token_file;
        int r;

        r = read_secret_file(path, m->config->password_file ? &m->password : &m->static_token);
        if (r == -EBADMSG)
                return log_error_errno(r, "The Matrix secret in %s must be one non-empty line.", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read the Matrix secret from %s: %m", path);
        warn_if_exposed(path);
        for (size_t i = 0; i < m->config->n_customers; i++)
                warn_if_exposed(m->config->customers[i].ssh_key_file);
        return 0;
}

int manager_new(Config *config, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->config = config;
        m->start_ms = now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;

        r = manager_read_secrets(m);
        if (r < 0)
                goto fail;
        r = state_load(config->state_dir, config->homeserver, config->user_id, &m->state);
        if (r < 0) {
                log_error_errno(r, "Failed to load %s/state.json: %m", config->state_dir);
                goto fail;
        }
        m->replay_guard = !m->state->since;

        r = sd_event_default(&m->event);
        if (r >= 0)
                r = matrix_client_new(m->event, config->homeserver, &m->matrix);
        if (r >= 0)
                r = matrix_client_set_token(m->matrix, m->static_token ?: m->state->access_token);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->retry_timer, CLOCK_MONOTONIC, 0, 0,
                                               on_retry, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_set_watchdog(m->event, true);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto fail;
        }
        *ret = m;
        return 0;

fail:
        manager_free(m);
        return r;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        matrix_request_cancel(m->request);
        while (m->ops)
                manager_pop_op(m);
        for (size_t i = 0; i < m->n_refusals; i++)
                free(m->refusals[i].room_id);
        free(m->refusals);
        free(m->pending_since);
        sd_event_source_disable_unref(m->retry_timer);
        sd_event_source_disable_unref(m->quit_timer);
        matrix_client_free(m->matrix);
        sd_event_unref(m->event);
        state_free(m->state);
        if (m->password)
                explicit_bzero(m->password, strlen(m->password));
        free(m->password);
        free(m->static_token);
        free(m);
        return NULL;
}

int manager_run(Manager *m) {
        manager_step(m);
        return sd_event_loop(m->event);
}
