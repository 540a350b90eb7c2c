/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The send lane: what the bot owes, done one op at a time in the order it was decided; plain
 * messages to other rooms go out ahead of their turn, a few at once. */

#include <malloc.h>

#include "lanes.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "reply.h"
#include "state.h"

#define REQUEST_TIMEOUT_MS 30000U
/* Messages in flight ahead of their turn, and how far behind the head they are looked for: enough
 * to overlap the homeserver's ~50 ms per message, few enough not to flood it. */
#define AHEAD_MAX 8U
#define AHEAD_WINDOW 64U
/* A queue this long, drained, held megabytes: see ops_pop(). */
#define OPS_TRIM_AFTER 1000U

static void ops_send(Manager *m, Op *op);

const OpType op_send = { .name = "send to", .step = ops_send };
const OpType op_join = { .name = "join", .step = ops_send, .holds_all = true };
const OpType op_leave = { .name = "leave", .step = ops_send, .holds_all = true };

Op *op_new(const OpType *type, const char *room_id) {
        Op *op = calloc(1, sizeof(Op));

        if (!op)
                return NULL;
        op->type = type;
        op->room_id = strdup(room_id);
        if (!op->room_id)
                return mfree(op);
        return op;
}

Op *op_free(Op *op) {
        if (!op)
                return NULL;
        free(op->room_id);
        free(op->txn_id);
        json_decref(op->content);
        free(op->customer);
        free(op->cursor);
        free(op->progress_run);
        free(op->event_id);
        free(op->sender);
        free(op->holder);
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
        return mfree(op);
}

Op *op_for_message(const SyncMessage *msg, const OpType *type) {
        _cleanup_(op_freep) Op *op = op_new(type, msg->room_id);

        if (!op)
                return NULL;
        op->from_sync = true;
        if (asprintf(&op->txn_id, "reply-%016llx", (unsigned long long) hash_fnv1a(msg->event_id)) < 0)
                return NULL;
        return TAKE_PTR(op);
}

Op *op_for_command(const SyncMessage *msg, const OpType *type, const char *customer) {
        _cleanup_(op_freep) Op *op = op_for_message(msg, type);

        if (!op)
                return NULL;
        op->customer = strdup(customer);
        op->event_id = strdup(msg->event_id);
        if (!op->customer || !op->event_id)
                return NULL;
        return TAKE_PTR(op);
}

/* Turns op into the op_send of text, as an m.notice replying to event_id (if any). */
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
        op->type = &op_send;
        return 0;
}

int op_finish_with_reply(Manager *m, Op *op, const char *text) {
        if (op_make_reply(op, op->event_id, text) < 0) {
                manager_fatal_oom(m);
                return 0;
        }
        manager_wake(m);
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

int ops_queue_reply(Manager *m, const SyncMessage *msg, const char *text) {
        Op *op = op_for_message(msg, &op_send);

        if (!op || op_make_reply(op, msg->event_id, text) < 0) {
                op_free(op);
                return log_oom();
        }
        ops_queue(m, op);
        return 0;
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

void ops_done(Manager *m) {
        Op *op = m->ops;

        if (op->from_sync)
                m->sync_ops--;
        if (op->done)
                op->done(m, op);
        ops_pop(m);
        manager_wake(m);
}

/* What the homeserver said to the op's request, the last one it needs: -ENOMEM or 0, done. */
static int op_answered(Manager *m, Op *op, const MatrixResponse *resp) {
        if (resp->status != 200)
                /* Kicked, banned, room gone: trying again changes nothing. */
                log_warning("The homeserver refused to %s %s: HTTP %li %s %s; dropping it.", op->type->name,
                            op->room_id, resp->status, strempty(resp->errcode), strempty(resp->errmsg));
        else if (op->type == &op_join && state_set_room(m->state, op->customer, op->room_id) < 0)
                return -ENOMEM;
        else if (op->answered && json_is_string(json_object_get(resp->json, "event_id")))
                op->answered(m, op, json_string_value(json_object_get(resp->json, "event_id")));
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
        if (op->type == &op_send)
                return asprintf(ret, "/_matrix/client/v3/rooms/%s/send/m.room.message/%s", room, txn);
        if (op->type == &op_join)
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
        if (op->type == &op_send && m->room_encrypted(m, op->room_id))
                return m->send_encrypted(m, op);
        empty = json_object();
        if (!empty || op_path(op, &path) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, op->type == &op_send ? "PUT" : "POST", path,
                            op->type == &op_send ? op->content : empty, REQUEST_TIMEOUT_MS, on_op);
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
                        (void) lanes_token_rejected(m, resp);
                return manager_wake(m);
        }
        if (op_answered(m, op, resp) < 0)
                return manager_fatal_oom(m);
        op->sent = true;
        if (op == m->ops && !lane_busy(&m->send))
                return ops_done(m);
        manager_wake(m);
}

/* Whether op holds back every message behind it: it goes where cannot be told yet, or its type says
 * so. */
static bool op_holds_all(const Op *op, const char *room) {
        return !room || op->type->holds_all;
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
 * since the last (the loop comes here for every answer and every /sync). */
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
                if (op == m->ops || op->type != &op_send || op->ahead || op->sent || isempty(room) ||
                    m->room_encrypted(m, room))
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
        if (lane_busy(&m->send) || !m->ops)
                return;
        if (m->ops->sent)
                return ops_done(m);
        if (m->ops->ahead)
                return; /* on its way already: on_ahead() goes on */
        m->ops->type->step(m, m->ops);
}
