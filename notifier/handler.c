/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What the bot says and does for each thing a /sync batch brought: invites, commands, strangers. */

#include "command.h"
#include "log.h"
#include "manager.h"
#include "reply.h"

#define REFUSAL_INTERVAL_USEC (3600ULL * USEC_PER_SEC)
#define REFUSALS_MAX 4096

void op_free(Op *op) {
        if (!op)
                return;
        free(op->room_id);
        free(op->txn_id);
        json_decref(op->content);
        free(op->customer);
        free(op);
}

static Op *op_new(OpKind kind, const char *room_id) {
        Op *op = calloc(1, sizeof(Op));

        if (!op)
                return NULL;
        op->kind = kind;
        op->room_id = strdup(room_id);
        if (!op->room_id) {
                free(op);
                return NULL;
        }
        return op;
}

/* FNV-1a: stable across restarts and builds, which is all a transaction id needs. */
static uint64_t hash_string(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        return h;
}

static int queue_reply(Manager *m, const SyncMessage *msg, const Reply *reply) {
        Op *op;

        op = op_new(OP_SEND, msg->room_id);
        if (!op)
                return -ENOMEM;
        op->content = json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:s}}}", "msgtype", "m.notice", "body", reply->body,
                                "format", "org.matrix.custom.html", "formatted_body", reply->html,
                                "m.relates_to", "m.in_reply_to", "event_id", msg->event_id);
        if (!op->content || asprintf(&op->txn_id, "reply-%016llx",
                                     (unsigned long long) hash_string(msg->event_id)) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        return manager_queue_op(m, op);
}

static Refusal *refusal_find(Manager *m, const char *room_id) {
        for (size_t i = 0; i < m->n_refusals; i++)
                if (streq(m->refusals[i].room_id, room_id))
                        return &m->refusals[i];
        return NULL;
}

/* One refusal per room per hour: a stranger learns why, and cannot make the bot talk a lot. */
static bool refusal_due(Manager *m, const char *room_id) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        Refusal *f = refusal_find(m, room_id), *n;

        if (f) {
                if (now - f->usec < REFUSAL_INTERVAL_USEC)
                        return false;
                f->usec = now;
                return true;
        }
        if (m->n_refusals >= REFUSALS_MAX) {
                free(m->refusals[0].room_id);
                memmove(m->refusals, m->refusals + 1, (m->n_refusals - 1) * sizeof(Refusal));
                m->n_refusals--;
        }
        n = reallocarray(m->refusals, m->n_refusals + 1, sizeof(Refusal));
        if (!n)
                return false;
        m->refusals = n;
        n[m->n_refusals] = (Refusal) { .room_id = strdup(room_id), .usec = now };
        if (!n[m->n_refusals].room_id)
                return false;
        m->n_refusals++;
        return true;
}

static int handle_command(Manager *m, const Customer *cu, const SyncMessage *msg) {
        _cleanup_free_ char *why = NULL;
        Reply reply = {};
        Command c;
        int r;

        r = command_parse(msg->body, &c, &why);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                r = reply_error(why, &reply);
        else if (c.mode == MODE_HELP)
                r = reply_help(&reply);
        else
                r = reply_not_available(mode_to_string(c.mode), &reply);
        if (r < 0)
                return log_oom();

        log_info("%s (%s) in %s: %s", msg->sender, cu->name, msg->room_id, why ? why : mode_to_string(c.mode));
        r = queue_reply(m, msg, &reply);
        reply_done(&reply);
        return r;
}

static int handle_message(Manager *m, const SyncMessage *msg) {
        const Customer *cu;
        Reply reply = {};
        int r;

        /* Notices are what bots send; edits of old commands are not new commands. */
        if (!streq(msg->msgtype, "m.text") || msg->edit)
                return 0;
        if (m->replay_guard && msg->origin_server_ts < m->start_ms)
                return 0;

        cu = config_find_owner(m->config, msg->sender);
        if (!cu) {
                if (!refusal_due(m, msg->room_id))
                        return 0;
                log_notice("Refusing %s in %s: not an owner of any customer.", msg->sender, msg->room_id);
                r = reply_refusal(&reply);
                if (r >= 0)
                        r = queue_reply(m, msg, &reply);
                reply_done(&reply);
                return r;
        }

        if (!streq_ptr(state_get_room(m->state, cu->name), msg->room_id) &&
            state_set_room(m->state, cu->name, msg->room_id) < 0)
                return log_oom();
        return handle_command(m, cu, msg);
}

static int handle_invite(Manager *m, const SyncInvite *inv) {
        const Customer *cu = config_find_owner(m->config, inv->inviter);
        Op *op;

        op = op_new(cu ? OP_JOIN : OP_LEAVE, inv->room_id);
        if (!op || (cu && !(op->customer = strdup(cu->name)))) {
                op_free(op);
                return log_oom();
        }
        if (cu)
                log_info("Joining %s, invited by %s (%s).", inv->room_id, inv->inviter, cu->name);
        else
                log_notice("Declining the invite to %s from %s: not an owner of any customer.", inv->room_id,
                           inv->inviter);
        return manager_queue_op(m, op);
}

int handler_process_batch(Manager *m, const SyncBatch *batch, bool initial) {
        int r;

        if (batch->limited)
                log_warning("The homeserver left out part of a room's timeline; some messages were not seen.");
        for (size_t i = 0; i < batch->n_invites; i++) {
                r = handle_invite(m, &batch->invites[i]);
                if (r < 0)
                        return r;
        }
        /* The first sync of a new session shows history: those commands were given to someone else. */
        if (initial)
                return 0;
        for (size_t i = 0; i < batch->n_messages; i++) {
                r = handle_message(m, &batch->messages[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}
