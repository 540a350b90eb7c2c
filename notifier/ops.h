/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The send lane's queue: what the bot owes, one op at a time in the order it was decided. An op's
 * type says how it is done: the plain Matrix requests are this module's (op_send, op_join,
 * op_leave); every other kind is registered by the module that does it (run.c, schedule-io.c, dm.c,
 * e2ee.c), so the queue knows no feature. */

#include <stdbool.h>
#include <jansson.h>
#include <systemd/sd-bus.h>

#include "command.h"
#include "matrix-sync.h"
#include "matrix.h"
#include "unit.h"
#include "util.h"

typedef struct Manager Manager;
typedef struct Op Op;

typedef struct OpType {
        const char *name;      /* for the log: "send to", "join", "run", … */
        /* Starts the op, or its next step; the module finishes it with ops_done(), or turns it into
         * the reply that ends it (op_finish_with_reply()). NULL: a request of op_path(). */
        void (*step)(Manager *m, Op *op);
        /* The messages behind it wait until it is done: it changes who is in a room or which keys
         * they have. Otherwise only the messages to its own room wait for it. */
        bool holds_all;
} OpType;

extern const OpType op_send, op_join, op_leave;

/* One thing the bot owes: a request to the homeserver or systemd. Ops run one at a time, in order,
 * but a plain message to a room that no op before it concerns may go out ahead (ops.c), so one
 * room's burst or a slow systemd call does not hold up the others; each op is still done in order:
 * an op from a /sync batch holds back that batch's position until it is done, an op from the
 * journal saves its journal position when the homeserver accepted it and all before it (its done
 * hook, results-io.c). The start's reconcile waits apart: one of its ops joins the queue only when
 * it is empty. */
struct Op {
        const OpType *type;
        bool from_sync;
        char *room_id;         /* "" with customer set: the customer's room when it is sent */
        char *txn_id;          /* op_send: derived from what is answered, so a repeat is deduplicated */
        json_t *content;       /* op_send */
        char *customer;        /* op_join: whose room this becomes; a run: whose command */
        /* The homeserver took the message as event_id (op_send): e.g. a maintenance's "initiated",
         * which its progress edits. */
        void (*answered)(Manager *m, Op *op, const char *event_id);
        /* The op leaves the head of the queue, done or given up for good. */
        void (*done)(Manager *m, Op *op);
        char *cursor;          /* a result or alert: the journal entry it delivers */
        char *progress_run;    /* a maintenance result: its progress display ends when done */
        char *event_id;        /* a run: the command message */
        char *sender;          /* a run */
        Command command;       /* a run */
        usec_t bus_start;      /* a run: when StartTransientUnit was sent, for the log */
        bool maybe_ran;        /* a run from the first batch after a start: it may have run before */
        char *holder;          /* a maintenance or restart: the other of the two, running now */
        UnitSpec *timer;       /* schedule units: to start, with its service */
        UnitSpec *service;
        char **stop;           /* schedule units: units to stop */
        char *existing;        /* schedule units: a timer that exists already (generated at boot) */
        size_t step;           /* next of stop; listing schedules: next of timers */
        char *text;            /* schedule units: the reply once done */
        char *failure;         /* schedule units: what systemd refused */
        bool silent;           /* schedule units: nobody asked, nobody is told */
        char **timers;         /* listing schedules: name, object path pairs */
        char **lines;          /* listing schedules: "<usec>\t* …" */
        char *event_type;      /* to-device */
        char **query_users;    /* op_send to an encrypted room (e2ee.c): whose devices are asked for */
        json_t *claim;         /* … the /keys/claim body in flight */
        json_t *share;         /* … the /sendToDevice body sharing our session, and with whom */
        json_t *recipients;
        char *share_txn;
        json_t *encrypted;     /* … the message as it goes out */
        MatrixRequest *ahead;  /* op_send in flight before its turn (ops_ahead()) */
        bool sent;             /* … and accepted (or refused for good): done once it is the head */
        struct Op *next;
};

Op *op_new(const OpType *type, const char *room_id);
Op *op_free(Op *op);
DEFINE_TRIVIAL_CLEANUP_FUNC(Op *, op_free);
/* An op answering msg: its transaction id comes from the message, so a repeat is deduplicated. */
Op *op_for_message(const SyncMessage *msg, const OpType *type);
/* The same for a command of customer's: the op knows whose it is and the command's event id. */
Op *op_for_command(const SyncMessage *msg, const OpType *type, const char *customer);
/* Turns op into the op_send of text, as an m.notice replying to event_id (if any). */
int op_make_reply(Op *op, const char *event_id, const char *text);
/* The same for what rings on the customer's phone: results, alerts, reminders (reply.h). */
int op_make_ringing(Op *op, const char *event_id, const char *text, char *const *owners);
/* The head op's work is done: it becomes the reply to its command message, sent next. */
int op_finish_with_reply(Manager *m, Op *op, const char *text);

void ops_queue(Manager *m, Op *op);
/* A reply of text to msg, queued. */
int ops_queue_reply(Manager *m, const SyncMessage *msg, const char *text);
/* The send lane's next step: sends ahead, or the head op's step. Nothing if the queue is empty. */
void ops_step(Manager *m);
/* The head op is finished (done, or given up for good): account for it and move on. */
void ops_done(Manager *m);
void ops_clear(Manager *m);
/* The answer to an op's last request (send, join, leave): done, or dropped if refused. */
void on_op(MatrixRequest *req, const MatrixResponse *resp, void *userdata);
