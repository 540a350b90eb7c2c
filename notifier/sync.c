/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The sync lane: log in, long-poll /sync, hand each batch to the handler, and save the batch's
 * position once every op it caused is done. */

#include <systemd/sd-daemon.h>

#include "sync.h"
#include "e2ee-rooms.h"
#include "e2ee.h"
#include "handler.h"
#include "lanes.h"
#include "log.h"
#include "manager.h"

#define SYNC_TIMEOUT_MS 30000U
#define REQUEST_TIMEOUT_MS 30000U
#define BACKFILL_PAGE 100U
#define BACKFILL_MAX 1000U

static void on_login(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        const char *token, *device;
        int r;

        m->sync.request = NULL;
        if (matrix_response_retryable(resp))
                return lane_retry_later(m, &m->sync, resp);
        token = json_string_value(json_object_get(resp->json, "access_token"));
        device = json_string_value(json_object_get(resp->json, "device_id"));
        if (resp->status != 200 || isempty(token) || isempty(device)) {
                log_error("The homeserver refused to log in %s: HTTP %li %s %s", m->config->user_id,
                          resp->status, strempty(resp->errcode), strempty(resp->errmsg));
                return manager_exit(m, EXIT_FAILURE);
        }
        lane_succeeded(m, &m->sync);
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
        manager_wake(m);
}

static void sync_login(Manager *m) {
        json_auto_t *body = NULL;

        body = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s*, s:s}", "type", "m.login.password", "identifier",
                         "type", "m.id.user", "user", m->config->user_id, "password", m->password,
                         "device_id", m->state->device_id, "initial_device_display_name",
                         m->config->device_name);
        if (!body)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/login", body, REQUEST_TIMEOUT_MS,
                            on_login);
}

void sync_commit(Manager *m) {
        bool quiet = !m->sync_batch_acted;
        int r;

        /* A batch that asked nothing of us (our own messages coming back: one batch per alert sent
         * in a burst) changes nothing when repeated after a crash: its position is saved with the
         * next save, not on its own. */
        m->sync_batch_acted = false;
        r = state_set_since(m->state, m->pending_since);
        if (r >= 0 && !quiet)
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

/* The batch, complete: decrypted, handled, its position to be saved once its ops are done. */
static void sync_handle_batch(Manager *m, SyncBatch *batch) {
        unsigned changes = m->state->changes;
        int r;

        r = e2ee_process_batch(m, batch, !m->state->since);
        if (r >= 0)
                r = handler_process_batch(m, batch, !m->state->since);
        /* The batch changed what state.json holds (a room, its encryption): saved with its position. */
        if (m->state->changes != changes)
                m->sync_batch_acted = true;
        if (r < 0) {
                matrix_sync_batch_free(batch);
                return manager_exit(m, EXIT_FAILURE);
        }
        m->pending_since = TAKE_PTR(batch->next_batch);
        matrix_sync_batch_free(batch);
        manager_wake(m);
}

static void on_backfill(MatrixRequest *req, const MatrixResponse *resp, void *userdata);

/* A room's timeline was cut short (a restart after a busy time, a flood): what it left out, from
 * the last position we saved, page by page backwards, before the batch is handled. */
static void backfill_step(Manager *m) {
        _cleanup_free_ char *room = NULL, *from = NULL, *to = NULL, *filter = NULL, *path = NULL;
        const char *key = NULL;
        json_t *v;

        json_object_foreach(m->backfill->gaps, key, v)
                break;
        if (!key) {
                m->backfill->limited = m->backfill_incomplete;
                return sync_handle_batch(m, TAKE_PTR(m->backfill));
        }
        room = matrix_escape(key);
        from = matrix_escape(json_string_value(v));
        to = matrix_escape(m->state->since);
        filter = matrix_escape("{\"types\":[\"m.room.message\",\"m.room.encrypted\"]}");
        if (!room || !from || !to || !filter ||
            asprintf(&path, "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=%u&from=%s&to=%s&filter=%s",
                     room, BACKFILL_PAGE, from, to, filter) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->sync, "GET", path, NULL, REQUEST_TIMEOUT_MS, on_backfill);
}

static void on_backfill(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        const char *room = NULL, *end = json_string_value(json_object_get(resp->json, "end"));
        json_t *chunk = json_object_get(resp->json, "chunk"), *v, *e;
        size_t i;

        if (!lane_answered(m, &m->sync, resp))
                return;
        json_object_foreach(m->backfill->gaps, room, v)
                break;
        if (resp->status != 200) {
                log_warning(
                        "Could not fetch what the homeserver left out of %s's timeline: HTTP %li %s; some "
                        "messages were not seen.",
                        room, resp->status, strempty(resp->errcode));
                m->backfill_incomplete = true;
                chunk = NULL;
        }
        /* Newest first: each goes before the ones we have, so they end up oldest first. */
        json_array_foreach(chunk, i, e)
                if (json_array_insert(m->backfill_events, 0, e) < 0)
                        return manager_fatal_oom(m);
        if (json_array_size(chunk) > 0 && end && json_array_size(m->backfill_events) < BACKFILL_MAX) {
                if (json_object_set_new(m->backfill->gaps, room, json_string(end)) < 0)
                        return manager_fatal_oom(m);
                return backfill_step(m);
        }
        if (json_array_size(chunk) > 0 && end) {
                log_warning("More than %u messages left out of %s's timeline: the oldest were not seen.",
                            BACKFILL_MAX, room);
                m->backfill_incomplete = true;
        }
        log_info("Fetched %zu messages the homeserver left out of %s's timeline.",
                 json_array_size(m->backfill_events), room);
        if (matrix_sync_prepend_events(m->backfill, room, m->backfill_events, m->config->user_id) < 0)
                return manager_fatal_oom(m);
        json_array_clear(m->backfill_events);
        (void) json_object_del(m->backfill->gaps, room);
        backfill_step(m);
}

static void on_sync(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *batch = NULL;
        Manager *m = userdata;
        int r;

        m->sync.request = NULL;
        if (lanes_token_rejected(m, resp))
                return;
        if (matrix_response_retryable(resp) || resp->status != 200)
                return lane_retry_later(m, &m->sync, resp);
        r = matrix_sync_parse(resp->json, m->config->user_id, &batch);
        if (r == -ENOMEM)
                return manager_fatal_oom(m);
        if (r < 0) {
                MatrixResponse bad = { .status = resp->status, .errcode = "(not a sync answer)" };
                return lane_retry_later(m, &m->sync, &bad);
        }
        lane_succeeded(m, &m->sync);

        /* The first sync's history is not answered: nothing to fetch for it. */
        if (m->state->since && json_object_size(batch->gaps) > 0) {
                m->backfill = TAKE_PTR(batch);
                m->backfill_incomplete = false;
                if (!m->backfill_events)
                        m->backfill_events = json_array();
                if (!m->backfill_events)
                        return manager_fatal_oom(m);
                json_array_clear(m->backfill_events);
                return backfill_step(m);
        }
        sync_handle_batch(m, TAKE_PTR(batch));
}

static void sync_start(Manager *m) {
        _cleanup_free_ char *filter = NULL, *since = NULL, *path = NULL;
        bool initial = !m->state->since;

        filter = matrix_escape(matrix_sync_filter());
        since = initial ? strdup("") : matrix_escape(m->state->since);
        if (!filter || !since)
                return manager_fatal_oom(m);
        /* The first sync after a start answers at once, so we are ready (READY=1) without waiting
         * for someone to speak; later ones wait on the homeserver for news. */
        if (asprintf(&path, "/_matrix/client/v3/sync?set_presence=offline&filter=%s&timeout=%u%s%s", filter,
                     m->ready ? e2ee_sync_timeout_ms(m, SYNC_TIMEOUT_MS) : 0,
                     initial ? "" : "&since=", since) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->sync, "GET", path, NULL, SYNC_TIMEOUT_MS + 4 * REQUEST_TIMEOUT_MS,
                            on_sync);
}

void sync_step(Manager *m) {
        if (m->quitting || lane_busy(&m->sync))
                return;
        if (!matrix_client_has_token(m->matrix))
                return sync_login(m);
        if (m->backfill)
                return backfill_step(m);
        if (e2ee_sync_step(m))
                return;
        if (m->pending_since) {
                if (m->sync_ops > 0)
                        return;   /* ops_done() steps again when the batch's last op is done */
                sync_commit(m);
        }
        sync_start(m);
}
