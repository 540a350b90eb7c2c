/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The send lane: what the bot owes, done one op at a time in the order it was decided; plain
 * messages to other rooms go out ahead of their turn, a few at once. What the start's reconcile
 * still has to do waits apart and fills in only when nothing else is owed. */

#include <malloc.h>

#include "log.h"
#include "manager.h"
#include "reply.h"

#define REQUEST_TIMEOUT_MS 30000U
/* Delivered results whose journal position may wait for the next one's (see ops_done()). */
#define CURSORS_UNSAVED_MAX 64U
/* Messages in flight ahead of their turn, and how far behind the head they are looked for: enough
 * to overlap the homeserver's ~50 ms per message, few enough not to flood it. */
#define AHEAD_MAX 8U
#define AHEAD_WINDOW 64U
/* A queue this long, drained, held megabytes: see ops_pop(). */
#define OPS_TRIM_AFTER 1000U

Op *op_new(OpKind kind, const char *room_id) {
        Op *op = calloc(1, sizeof(Op));

        if (!op)
                return NULL;
        op->kind = kind;
        op->room_id = strdup(room_id);
        if (!op->room_id)
                return mfree(op);
        return op;
}

void op_free(Op *op) {
        if (!op)
                return;
        free(op->room_id);
        free(op->txn_id);
        json_decref(op->content);
        free(op->customer);
        free(op->cursor);
        free(op->progress_run);
        free(op->event_id);
        free(op->sender);
        if (op->timer)
                unit_spec_done(op->timer);
        if (op->service)
                unit_spec_done(op->service);
        free(op->timer);
        free(op->service);
        strv_free(op->stop);
        free(op->existing);
        free(op->text);
        free(op->failure);
        strv_free(op->timers);
        strv_free(op->lines);
        free(op->event_type);
        strv_free(op->query_users);
        json_decref(op->claim);
        json_decref(op->share);
        json_decref(op->recipients);
        free(op->share_txn);
        json_decref(op->encrypted);
        free(op);
}

/* Turns op into the OP_SEND of text, as an m.notice replying to event_id (if any). */
int op_make_reply(Op *op, const char *event_id, const char *text) {
        return op_make_ringing(op, event_id, text, NULL);
}

int op_make_ringing(Op *op, const char *event_id, const char *text, char *const *owners) {
        json_t *content = NULL;
        int r;

        r = reply_content_ringing(text, event_id, owners, &content);
        if (r < 0)
                return r;
        json_decref(op->content);
        op->content = content;
        op->kind = OP_SEND;
        return 0;
}

void ops_queue(Manager *m, Op *op) {
        if (op->from_sync) {
                m->sync_ops++;
                m->sync_batch_acted = true;
        }
        if (m->ops_tail)
                m->ops_tail->next = op;
        else
                m->ops = op;
        m->ops_tail = op;
        m->ahead_stale = true;
}

static void ops_pop(Manager *m) {
        Op *op = m->ops;

        if (op->ahead) {
                matrix_request_cancel(op->ahead);
                m->n_ahead--;
        }
        m->ops = op->next;
        if (!m->ops)
                m->ops_tail = NULL;
        m->ahead_stale = true;
        op_free(op);
        /* A long queue drained (a burst of a thousand alerts, a customer's many timers): glibc
         * keeps a freed heap for reuse, in the middle; trimming hands back the pages no block is
         * left on. */
        if (++m->ops_freed >= OPS_TRIM_AFTER && !m->ops) {
                m->ops_freed = 0;
                (void) malloc_trim(0);
        }
}

void ops_clear(Manager *m) {
        while (m->ops)
                ops_pop(m);
        m->sync_ops = 0;
}

/* The head op is finished (done, or given up for good): account for it and move on. */
void ops_done(Manager *m) {
        Op *op = m->ops;
        int r;

        if (op->from_sync)
                m->sync_ops--;
        r = op->cursor ? state_set_journal_cursor(m->state, op->cursor) : 0;
        if (op->alert) {
                /* No longer pending; saved soon, with the rest of a burst's alerts and the journal
                 * position. A crash before that sends them again under the same transaction ids,
                 * which the homeserver drops, as after any crash before a save. */
                alerts_delivered(m, op);
                manager_save_soon(m);
        } else if (op->cursor && r >= 0 &&
                   (!op->next || !op->next->cursor || ++m->cursors_unsaved >= CURSORS_UNSAVED_MAX)) {
                /* While the next op delivers another result, its save covers this one too. */
                m->cursors_unsaved = 0;
                r = state_save(m->state);
        }
        if (r < 0)
                log_error_errno(r, "Failed to save the journal position, continuing: %m");
        if (op->progress_run)
                progress_delivered(m, op->progress_run);
        ops_pop(m);
        manager_step(m);
}

static const char *op_verb(const Op *op) {
        return op->kind == OP_SEND ? "send to" : op->kind == OP_JOIN ? "join" : "leave";
}

/* A `run` to be told "already running": after a crash its batch repeats, and it must get the same
 * answer (not run, now that the other one may have finished). Saved before the answer goes out: a
 * crash after the homeserver took it but before we knew would otherwise run it on the repeat, and
 * its "initiated", under the same transaction id, would be dropped in favour of the refusal. */
int ops_note_refused_run(Manager *m, const char *event_id) {
        int r = state_note_refused_run(m->state, event_id);

        if (r < 0)
                return r;
        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save %s, continuing: %m", m->state->path);
        return 0;
}

/* What the homeserver said to the op's request, the last one it needs: -ENOMEM or 0, done. */
static int op_answered(Manager *m, Op *op, const MatrixResponse *resp) {
        if (resp->status != 200)
                /* Kicked, banned, room gone: trying again changes nothing. */
                log_warning("The homeserver refused to %s %s: HTTP %li %s %s; dropping it.", op_verb(op),
                            op->room_id, resp->status, strempty(resp->errcode), strempty(resp->errmsg));
        else if (op->kind == OP_JOIN && state_set_room(m->state, op->customer, op->room_id) < 0)
                return -ENOMEM;
        else if (op->initiated && json_is_string(json_object_get(resp->json, "event_id")))
                progress_note_initiated(m, op->event_id,
                                        json_string_value(json_object_get(resp->json, "event_id")));
        return 0;
}

void on_op(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;

        if (!lane_answered(m, &m->send, resp))
                return;
        if (op_answered(m, m->ops, resp) < 0)
                return manager_fatal_oom(m);
        ops_done(m);
}

/* The room an op goes to: its own, or its customer's as it is now. NULL: none known. */
static const char *op_room(Manager *m, const Op *op) {
        if (isempty(op->room_id) && op->customer)
                return state_get_room(m->state, op->customer);
        return op->room_id;
}

static int op_path(const Op *op, char **ret) {
        _cleanup_free_ char *room = NULL, *txn = NULL;

        room = matrix_escape(op->room_id);
        txn = op->txn_id ? matrix_escape(op->txn_id) : strdup("");
        if (!room || !txn)
                return -ENOMEM;
        if (op->kind == OP_SEND)
                return asprintf(ret, "/_matrix/client/v3/rooms/%s/send/m.room.message/%s", room, txn);
        if (op->kind == OP_JOIN)
                return asprintf(ret, "/_matrix/client/v3/join/%s", room);
        return asprintf(ret, "/_matrix/client/v3/rooms/%s/leave", room);
}

static void ops_send(Manager *m, Op *op) {
        _cleanup_free_ char *path = NULL;
        json_auto_t *empty = NULL;
        const char *room = op_room(m, op);

        if (!room) {
                log_warning("No room for customer %s, not even a direct chat; dropping a message.",
                            op->customer);
                return ops_done(m);
        }
        if (room != op->room_id && free_and_strdup(&op->room_id, room) < 0)
                return manager_fatal_oom(m);
        if (op->kind == OP_SEND && e2ee_room_encrypted(m, op->room_id))
                return e2ee_send_step(m, op);
        empty = json_object();
        if (!empty || op_path(op, &path) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, op->kind == OP_SEND ? "PUT" : "POST", path,
                            op->kind == OP_SEND ? op->content : empty, REQUEST_TIMEOUT_MS, on_op);
}

static void on_ahead(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;

        while (op && op->ahead != req)
                op = op->next;
        if (!op)
                return; /* cannot be: a popped op's request is cancelled, and says nothing */
        op->ahead = NULL;
        m->n_ahead--;
        m->ahead_stale = true;
        if (matrix_response_retryable(resp) || resp->status == 401) {
                /* Its turn sends it again, on the lane with its back-off, or after logging in again. */
                m->ahead_held = true;
                if (matrix_client_has_token(m->matrix))
                        (void) manager_token_rejected(m, resp);
                return manager_step(m);
        }
        if (op_answered(m, op, resp) < 0)
                return manager_fatal_oom(m);
        op->sent = true;
        if (op == m->ops && !lane_busy(&m->send))
                return ops_done(m);
        manager_step(m);
}

/* Whether op holds back every message behind it: it goes where cannot be told yet, or changes who is
 * in a room or which keys they have. Otherwise only the messages to its own room wait for it. */
static bool op_holds_all(const Op *op, const char *room) {
        return !room || op->kind == OP_JOIN || op->kind == OP_LEAVE || op->kind == OP_CREATE_DM ||
               op->kind == OP_TO_DEVICE;
}

static bool room_in(const char *const *rooms, size_t n, const char *room) {
        for (size_t i = 0; i < n; i++)
                if (streq(rooms[i], room))
                        return true;
        return false;
}

/* Plain messages behind the head, to rooms no op before them concerns, go out now; each stays in the
 * queue, done when its turn comes. Not into encrypted rooms: their sends share keys in order. One
 * walk, keeping the rooms of the ops passed, and only when the queue or the sends in flight changed
 * since the last (manager_step() comes here for every answer and every /sync). */
static void ops_ahead(Manager *m) {
        const char *held[AHEAD_WINDOW + 1];
        size_t n_held = 0;
        unsigned seen = 0;

        if (m->ahead_held || m->send.failures > 0 || !m->ops || !m->ahead_stale)
                return;
        m->ahead_stale = false;
        for (Op *op = m->ops; op && seen <= AHEAD_WINDOW && m->n_ahead < AHEAD_MAX; op = op->next, seen++) {
                _cleanup_free_ char *path = NULL;
                const char *room = op_room(m, op);

                if (op_holds_all(op, room))
                        return;
                if (room_in(held, n_held, room))
                        continue;
                held[n_held++] = room;
                if (op == m->ops || op->kind != OP_SEND || op->ahead || op->sent || isempty(room) ||
                    e2ee_room_encrypted(m, room))
                        continue;
                if ((room != op->room_id && free_and_strdup(&op->room_id, room) < 0) ||
                    op_path(op, &path) < 0)
                        return manager_fatal_oom(m);
                if (matrix_request(m->matrix, "PUT", path, op->content, REQUEST_TIMEOUT_MS, on_ahead, m,
                                   &op->ahead) < 0) {
                        log_error("Failed to start a request to the homeserver.");
                        return manager_exit(m, EXIT_FAILURE);
                }
                m->n_ahead++;
        }
}

void ops_step(Manager *m) {
        if (!matrix_client_has_token(m->matrix))
                return;
        ops_ahead(m);
        if (lane_busy(&m->send))
                return;
        if (m->ops && m->ops->sent)
                return ops_done(m);
        if (m->ops && m->ops->ahead)
                return; /* on its way already: on_ahead() goes on */
        if (!m->ops && !m->quitting)
                reconcile_step(m);
        if (!m->ops) {
                if (m->quitting) {
                        if (m->pending_since && m->sync_ops == 0)
                                sync_commit(m);
                        manager_exit(m, EXIT_SUCCESS);
                }
                return;
        }
        if (m->ops->kind == OP_RUN)
                return run_start(m, m->ops);
        if (m->ops->kind == OP_UNITS || m->ops->kind == OP_LIST_SCHEDULES)
                return schedules_op_step(m, m->ops);
        if (m->ops->kind == OP_CREATE_DM)
                return alerts_op_step(m, m->ops);
        if (m->ops->kind == OP_TO_DEVICE)
                return e2ee_to_device_step(m, m->ops);
        ops_send(m, m->ops);
}
