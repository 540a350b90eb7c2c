/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What the bot says and does for each thing a /sync batch brought: invites, commands, strangers. */

#include "handler.h"
#include "command.h"
#include "e2ee-rooms.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "reminders.h"
#include "reply.h"
#include "run-history.h"
#include "run.h"
#include "schedule-commands.h"
#include "services.h"

#define REFUSAL_INTERVAL_USEC (3600ULL * USEC_PER_SEC)
#define REFUSALS_MAX 4096


static int queue_run(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
        _cleanup_(op_freep) Op *op = op_for_command(msg, &op_run, cu->name);

        if (!op)
                return log_oom();
        op->sender = strdup(msg->sender);
        if (!op->sender)
                return log_oom();
        op->command = *c;
        /* The first batch after a start repeats what was not confirmed before a crash. */
        op->maybe_ran = !m->ready;
        ops_queue(m, TAKE_PTR(op));
        return 0;
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

static int handle_run(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c) {
        const char *unit;
        int r;

        if (c->task == TASK_RESTART) {
                r = service_resolve(cu, c->service, &unit);
                if (r < 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text,
                                     "`%s` is not a service I know; use a name like `slack` or a full "
                                     "`matrix-…` service name",
                                     c->service) < 0)
                                return log_oom();
                        return ops_queue_reply(m, msg, text);
                }
        }
        return queue_run(m, cu, msg, c);
}

static int handle_list_runs(Manager *m, const Customer *cu, const SyncMessage *msg) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = run_history_list(cu->name, customer_zone(cu), &text);
        if (r < 0) {
                log_error_errno(r, "Failed to read the runs of %s from the journal: %m", cu->name);
                return ops_queue_reply(m, msg,
                                           "The history of runs cannot be read right now; we have been "
                                           "told.");
        }
        return ops_queue_reply(m, msg, text);
}

static int handle_command(Manager *m, const Customer *cu, const SyncMessage *msg) {
        _cleanup_free_ char *why = NULL;
        Reply reply = {};
        Command c;
        int r;

        r = command_parse_sized(msg->body, msg->body_size, &c, &why);
        if (r == -ENOMEM)
                return log_oom();
        log_info("%s (%s) in %s: %s", msg->sender, cu->name, msg->room_id, why ?: mode_to_string(c.mode));
        if (r < 0 || c.mode == MODE_HELP) {
                if ((r < 0 ? reply_error(why, &reply) :
                             reply_help(customer_zone(cu), branch_to_string(cu->branch), &reply)) < 0)
                        return log_oom();
                r = ops_queue_reply(m, msg, reply.body);
                reply_done(&reply);
                return r;
        }
        switch (c.mode) {
        case MODE_BRANCH:
                if (reply_branch(branch_to_string(cu->branch), &reply) < 0)
                        return log_oom();
                r = ops_queue_reply(m, msg, reply.body);
                reply_done(&reply);
                return r;
        case MODE_RUN:
                return handle_run(m, cu, msg, &c);
        case MODE_LIST:
                if (c.list == LIST_RUNS)
                        return handle_list_runs(m, cu, msg);
                return schedule_commands_handle(m, cu, msg, &c);
        default:
                r = schedule_commands_handle(m, cu, msg, &c);
                /* A maintenance moved, paused or resumed: its reminder moves too (after the reply). */
                return r < 0 ? r : reminders_arm(m);
        }
}

static int handle_message(Manager *m, const SyncMessage *msg) {
        _cleanup_free_ char *refusal = NULL;
        const Customer *cu;
        Reply reply = {};
        RateVerdict verdict;

        if (m->replay_guard && msg->origin_server_ts < m->start_ms)
                return 0;
        if (msg->undecryptable)
                return e2ee_undecryptable(m, msg);
        /* Notices are what bots send (answering them could start a loop between two bots). */
        if (!streq_ptr(msg->msgtype, "m.text"))
                return 0;

        cu = config_find_owner(m->config, msg->sender);
        /* An owner of another customer in a customer's room is a stranger there: what they run and
         * its result would be seen by that customer, and that room would become theirs. */
        if (!cu || state_room_is_others(m->state, msg->room_id, cu->name)) {
                if (!refusal_due(m, msg->room_id))
                        return 0;
                log_notice("Refusing %s in %s: %s.", msg->sender, msg->room_id,
                           cu ? "an owner of another customer, in a customer's room" :
                                "not an owner of any customer");
                if (reply_refusal(&reply) < 0)
                        return log_oom();
                refusal = TAKE_PTR(reply.body);
                reply_done(&reply);
                return ops_queue_reply(m, msg, refusal);
        }

        if (!streq_ptr(state_get_room(m->state, cu->name), msg->room_id) &&
            state_set_room(m->state, cu->name, msg->room_id) < 0)
                return log_oom();
        if (ratelimit_check(&m->rate, msg->sender, now_usec(CLOCK_MONOTONIC), &verdict) < 0)
                return log_oom();
        if (verdict == RATE_DROP)
                return 0;
        if (verdict == RATE_NOTICE) {
                log_notice("%s (%s) sends commands too fast; ignoring some.", msg->sender, cu->name);
                if (asprintf(&refusal,
                             "You are sending commands faster than I take them (%u a minute), so I am "
                             "leaving some out. Wait a little and send again what is still needed.",
                             m->config->commands_per_minute) < 0)
                        return log_oom();
                return ops_queue_reply(m, msg, refusal);
        }
        /* An edit (of a command that ran, or of anything) runs nothing: a changed old line in the
         * history must not start something new, unseen among the newer messages. */
        if (msg->edit)
                return ops_queue_reply(m, msg,
                                           "I do not act on edited messages, so nothing ran. Send the "
                                           "command again as a new message.");
        return handle_command(m, cu, msg);
}

static int handle_invite(Manager *m, const SyncInvite *inv) {
        const Customer *cu = config_find_owner(m->config, inv->inviter);
        _cleanup_(op_freep) Op *op = NULL;

        /* A room, once a customer's, stays theirs: another customer's owner cannot make it theirs
         * by inviting the bot back into it. */
        if (cu && state_room_is_others(m->state, inv->room_id, cu->name)) {
                log_notice("Declining the invite to %s from %s: the room is another customer's.", inv->room_id,
                           inv->inviter);
                cu = NULL;
        } else if (!cu)
                log_notice("Declining the invite to %s from %s: not an owner of any customer.", inv->room_id,
                           inv->inviter);
        op = op_new(cu ? &op_join : &op_leave, inv->room_id);
        if (!op)
                return log_oom();
        op->from_sync = true;
        if (cu) {
                op->customer = strdup(cu->name);
                if (!op->customer)
                        return log_oom();
                log_info("Joining %s, invited by %s (%s).", inv->room_id, inv->inviter, cu->name);
        }
        ops_queue(m, TAKE_PTR(op));
        return 0;
}

int handler_process_batch(Manager *m, const SyncBatch *batch, bool initial) {
        int r;

        if (batch->limited)
                log_warning(
                        "The homeserver left out part of a room's timeline; some messages were not seen.");
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
