/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "matrix-sync.h"
#include "matrix.h"
#include "state.h"

typedef enum OpKind {
        OP_SEND,
        OP_JOIN,
        OP_LEAVE,
} OpKind;

/* One request to the homeserver that must be accepted before the /sync position moves on. */
typedef struct Op {
        OpKind kind;
        char *room_id;
        char *txn_id;          /* OP_SEND: derived from the event answered, so a repeat is deduplicated */
        json_t *content;       /* OP_SEND */
        char *customer;        /* OP_JOIN: whose room this becomes */
        struct Op *next;
} Op;

typedef struct Refusal {
        char *room_id;
        uint64_t usec;         /* CLOCK_MONOTONIC of the last refusal sent there */
} Refusal;

typedef struct Manager {
        sd_event *event;
        Config *config;
        State *state;
        MatrixClient *matrix;
        char *password;
        char *static_token;    /* from access_token_file */

        MatrixRequest *request;          /* at most one in flight: login, sync or an op */
        Op *ops, *ops_tail;
        char *pending_since;             /* next_batch to save once every op of its batch is done */
        sd_event_source *retry_timer;
        sd_event_source *quit_timer;
        unsigned failures;               /* consecutive, for the back-off */

        bool ready;
        bool quitting;
        bool replay_guard;               /* no saved position: ignore what was said before we started */
        uint64_t start_ms;

        Refusal *refusals;
        size_t n_refusals;
} Manager;

int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);

/* handler.c: turns a /sync batch into ops (joins, replies, refusals). */
int handler_process_batch(Manager *m, const SyncBatch *batch, bool initial);
int manager_queue_op(Manager *m, Op *op);
void op_free(Op *op);
