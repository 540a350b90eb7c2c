/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "command.h"
#include "config.h"
#include "crypto.h"
#include "matrix-sync.h"
#include "matrix.h"
#include "ratelimit.h"
#include "results.h"
#include "schedule.h"
#include "state.h"
#include "unit.h"

typedef enum OpKind {
        OP_SEND,
        OP_JOIN,
        OP_LEAVE,
        OP_RUN,                /* start a transient service, then becomes the OP_SEND of its reply */
        OP_UNITS,              /* start a schedule's timer and/or stop others, then the reply */
        OP_LIST_SCHEDULES,     /* ask systemd for the customer's timers, then the reply */
        OP_CREATE_DM,          /* open a direct chat with a customer's owners, who have no room */
        OP_TO_DEVICE,          /* content: a /sendToDevice body of event_type */
} OpKind;

/* One thing the bot owes: a request to the homeserver or systemd. Ops run one at a time, in order,
 * but a plain message to a room that no op before it concerns may go out ahead (ops.c), so one
 * room's burst or a slow systemd call does not hold up the others; each op is still done in order:
 * an op from a /sync batch holds back that batch's position until it is done, an op from the
 * journal saves its journal position when the homeserver accepted it and all before it. The
 * start's reconcile waits apart (Reconcile): one of its ops joins the queue only when it is empty. */
typedef struct Op {
        OpKind kind;
        bool from_sync;
        char *room_id;         /* "" with customer set: the customer's room when it is sent */
        char *txn_id;          /* OP_SEND: derived from what is answered, so a repeat is deduplicated */
        json_t *content;       /* OP_SEND */
        char *customer;        /* OP_JOIN: whose room this becomes; OP_RUN: whose command */
        char *cursor;          /* OP_SEND of a result: the journal entry it delivers */
        char *progress_run;    /* OP_SEND of a maintenance result: its progress display ends when done */
        bool initiated;        /* OP_SEND of a maintenance's "initiated": remember its event id */
        bool alert;            /* OP_SEND of an alert or reminder: pending in monitoring's memory */
        char *event_id;        /* OP_RUN: the command message */
        char *sender;          /* OP_RUN */
        Command command;       /* OP_RUN */
        usec_t bus_start;      /* OP_RUN: when StartTransientUnit was sent, for the log */
        bool maybe_ran;        /* OP_RUN from the first batch after a start: it may have run before */
        UnitSpec *timer;       /* OP_UNITS: to start, with its service */
        UnitSpec *service;
        char **stop;           /* OP_UNITS: units to stop */
        char *existing;        /* OP_UNITS: a timer that exists already (generated at boot): start it */
        size_t step;           /* OP_UNITS: next of stop; OP_LIST_SCHEDULES: next of timers */
        char *text;            /* OP_UNITS: the reply once done */
        char *failure;         /* OP_UNITS: what systemd refused */
        bool silent;           /* OP_UNITS: nobody asked, nobody is told */
        char **timers;         /* OP_LIST_SCHEDULES: name, object path pairs */
        char **lines;          /* OP_LIST_SCHEDULES: "<usec>\t* …" */
        char *event_type;      /* OP_TO_DEVICE */
        char **query_users;    /* OP_SEND to an encrypted room (e2ee.c): whose devices are asked for */
        json_t *claim;         /* … the /keys/claim body in flight */
        json_t *share;         /* … the /sendToDevice body sharing our session, and with whom */
        json_t *recipients;
        char *share_txn;
        json_t *encrypted;     /* … the message as it goes out */
        MatrixRequest *ahead;  /* OP_SEND in flight before its turn (ops_ahead()) */
        bool sent;             /* … and accepted (or refused for good): done once it is the head */
        struct Op *next;
} Op;

/* After a start, each customer's timers made to match the store and the configuration, in the
 * background (reconcile.c): a customer's store is read when their turn comes, their ops join the
 * queue one by one, each when the queue is empty. */
typedef struct Reconcile {
        bool *pending;         /* per customer of the configuration: store not read yet; NULL: all done */
        size_t n_pending;
        size_t next;           /* no customer before it is pending */
        const Customer *customer;      /* whose ops wait in ops */
        Op *ops;
} Reconcile;

/* A maintenance running, as the customer sees it (progress-io.c). Best effort: nothing here
 * holds up or reorders the ops. */
typedef struct Progress {
        char *run;             /* SCHEDULER_RUN */
        char *room;
        char *reply_to;        /* the command message (run mode), to find its "initiated" */
        bool initiated;        /* run mode: edit "initiated"; else a progress message of its own */
        char *target;          /* the event edited; NULL until known */
        char *step;
        char *shown;           /* the text the target has now */
        usec_t started;        /* CLOCK_REALTIME, when the run began */
        usec_t seen;           /* CLOCK_MONOTONIC of the first entry */
        usec_t edited;         /* CLOCK_MONOTONIC of the last edit */
        usec_t typing_until;   /* CLOCK_MONOTONIC; 0: not typing */
        unsigned edits;
        bool finished;         /* its result is delivered: a last edit, typing off, then gone */
        struct Progress *next;
} Progress;

typedef struct Initiated {
        char *command_event;
        char *event_id;
} Initiated;

#define INITIATED_MAX 64

typedef struct Refusal {
        char *room_id;
        uint64_t usec;         /* CLOCK_MONOTONIC of the last refusal sent there */
} Refusal;

/* A line of work towards the homeserver: at most one request in flight, its own back-off. */
typedef struct Lane {
        const char *name;
        MatrixRequest *request;
        sd_bus_slot *slot;
        sd_event_source *retry;
        unsigned failures;
} Lane;

typedef struct RunWatch RunWatch;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        sd_journal *journal;
        sd_event_source *journal_source;
        char *journal_read;       /* the cursor of the last of our entries read */
        unsigned journal_entries; /* our entries read since the journal was opened */
        bool journal_rotated;     /* files came or went since */
        RunWatch *runs_watched;   /* the runs whose end wakes us (results-io.c) */
        unsigned n_runs_watched;
        Config *config;
        State *state;
        MatrixClient *matrix;
        char *password;
        char *static_token;    /* from access_token_file */

        Lane sync;             /* login and /sync */
        Lane send;             /* the ops */
        Op *ops, *ops_tail;
        unsigned n_ahead;      /* sends in flight behind the head */
        bool ahead_held;       /* one of them failed: none more until the send lane succeeds */
        bool ahead_stale;      /* the queue or the sends in flight changed since ops_ahead() looked */
        Reconcile reconcile;   /* what the start has still to give systemd, behind the ops */
        unsigned sync_ops;     /* ops of the last batch not done yet */
        bool sync_batch_acted; /* the last batch queued an op or changed the state: saved at once */
        char *pending_since;   /* next_batch to save once sync_ops is 0 */
        SyncBatch *backfill;   /* a batch waiting for what its cut-short timelines left out */
        json_t *backfill_events;       /* the room's left-out events fetched so far, oldest first */
        bool backfill_incomplete;
        sd_event_source *quit_timer;
        sd_event_source *reminder_timer;

        bool ready;
        bool quitting;
        bool replay_guard;     /* no saved position: ignore what was said before we started */
        unsigned cursors_unsaved; /* results delivered whose journal position is not saved yet */
        sd_event_source *save_timer; /* manager_save_soon() */
        unsigned ops_freed;       /* ops done since the heap was last trimmed (ops_pop()) */
        uint64_t start_ms;

        Refusal *refusals;
        size_t n_refusals;
        RateLimiter rate;      /* commands per owner */

        Crypto *crypto;        /* NULL: no [matrix] crypto_key_file, or not opened yet */
        char *crypto_key;
        json_t *members;       /* room id → [user ids] joined, for sharing keys; dropped on changes */
        long otk_count;        /* our one-time keys on the server; -1: unknown */
        bool fallback_used;
        bool cross_signing_tried;
        SyncMessage *waiting;  /* encrypted messages whose key may still come (e2ee-rooms.c) */
        uint64_t *waiting_since;       /* CLOCK_MONOTONIC of each */
        size_t n_waiting;
        uint64_t to_device_window;     /* CLOCK_MONOTONIC: the minute ignored to-device messages are told in */
        unsigned to_device_told;
        size_t to_device_untold;
        json_t *cross_signing; /* in flight: {keys, signatures} */

        Progress *progress;
        MatrixRequest *progress_request;
        Progress *progress_busy;       /* whose request is in flight */
        sd_event_source *progress_timer;
        Initiated initiated[INITIATED_MAX];   /* a ring: the latest "initiated" messages */
        size_t n_initiated;
} Manager;

int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);

/* manager.c */
void manager_step(Manager *m);
/* The state saved within SAVE_SOON_USEC, once for all that changes meanwhile: for what a crash may
 * repeat (a burst's alerts, under their transaction ids) or read again from the journal. */
void manager_save_soon(Manager *m);
void manager_exit(Manager *m, int code);
void manager_fatal_oom(Manager *m);
/* Every secret file of the configuration is owned by us and closed to group and others; logs each
 * one that is not, with the fix. */
int manager_check_secrets(const Config *c);
bool lane_busy(const Lane *l);
void lane_retry_later(Manager *m, Lane *l, const MatrixResponse *resp);
void lane_succeeded(Manager *m, Lane *l);
int lane_request(Manager *m, Lane *l, const char *method, const char *path, json_t *body,
                 unsigned timeout_ms, matrix_callback_t cb);
bool manager_token_rejected(Manager *m, const MatrixResponse *resp);
/* Every answer on a lane starts here: false if it is dealt with already (a token gone, a retry). */
bool lane_answered(Manager *m, Lane *l, const MatrixResponse *resp);

/* sync.c: log in, /sync, save the position. */
void sync_step(Manager *m);
void sync_commit(Manager *m);

/* ops.c */
Op *op_new(OpKind kind, const char *room_id);
void op_free(Op *op);
void ops_queue(Manager *m, Op *op);
void ops_step(Manager *m);
void ops_done(Manager *m);
void ops_clear(Manager *m);
int ops_note_refused_run(Manager *m, const char *event_id);
int op_make_reply(Op *op, const char *event_id, const char *text);
/* The same for what rings on the customer's phone: results, alerts, reminders (reply.h). */
int op_make_ringing(Op *op, const char *event_id, const char *text, char *const *owners);
/* The answer to an op's last request (send, join, leave): done, or dropped if refused. */
void on_op(MatrixRequest *req, const MatrixResponse *resp, void *userdata);

/* progress-io.c: a running maintenance's progress in chat, and the typing notice. */
void progress_entry(Manager *m, const RunResult *entry);
void progress_note_initiated(Manager *m, const char *command_event, const char *event_id);
void progress_delivered(Manager *m, const char *run);
void progress_step(Manager *m);
void progress_free_all(Manager *m);

/* handler.c: turns a /sync batch into ops (joins, replies, refusals, runs). */
int handler_process_batch(Manager *m, const SyncBatch *batch, bool initial);

/* run.c: OP_RUN over sd-bus. */
void run_start(Manager *m, Op *op);
int op_finish_with_reply(Manager *m, Op *op, const char *text);

/* handler.c, for the modules that answer commands */
Op *handler_op_for(const SyncMessage *msg, OpKind kind);
int handler_queue_reply(Manager *m, const SyncMessage *msg, const char *text);

/* schedules.c: schedule, recurring, cancel, pause, resume, list schedules, list recurring. */
typedef struct Schedules {
        Schedule *stored;      /* the store */
        size_t n_stored;
        Schedule *all;         /* the store plus the default maintenance */
        size_t n_all;
} Schedules;

/* The customer's store and their effective schedules; the store's error is logged. */
int schedules_load(Manager *m, const Customer *cu, Schedules *ret);
void schedules_done(Schedules *s);
int schedules_handle(Manager *m, const Customer *cu, const SyncMessage *msg, const Command *c);
void schedules_op_step(Manager *m, Op *op);
/* A one-shot ran: it leaves the store. */
void schedules_retire(Manager *m, const char *customer, const char *stem);

/* reconcile.c: at start, every customer's timers made to match the store, in the background. */
int reconcile_start(Manager *m);
/* The queue is empty: puts the reconcile's next op on it, if there is one left. */
void reconcile_step(Manager *m);
/* cu's schedule command is about to be handled: their reconcile first, if still to do. */
int reconcile_first(Manager *m, const Customer *cu);
void reconcile_free(Manager *m);

/* e2ee.c: end-to-end encryption between the lanes and crypto.c. */
int e2ee_read_key(Manager *m);
/* The sync lane's crypto work before a /sync (open the store, upload keys, cross-sign): true if a
 * request is under way or the notifier is leaving. */
bool e2ee_sync_step(Manager *m);
/* Before the handler: to-device keys, device lists, encrypted rooms, and decryption. A message whose
 * key has not come yet waits a little for it (the key may travel apart from the message): the
 * batch's messages are then those that can be handled now, waiting ones first. */
int e2ee_process_batch(Manager *m, SyncBatch *b, bool initial);
/* While messages wait for their keys, the next /sync returns sooner (ms). */
unsigned e2ee_sync_timeout_ms(Manager *m, unsigned timeout_ms);
void e2ee_free_waiting(Manager *m);
bool e2ee_room_encrypted(Manager *m, const char *room_id);
/* The OP_SEND to an encrypted room, step by step (members, devices, keys, share, send). */
void e2ee_send_step(Manager *m, Op *op);
void e2ee_to_device_step(Manager *m, Op *op);
/* A message the bot cannot decrypt: one reply asking to send it again, and a key request. */
int e2ee_undecryptable(Manager *m, const SyncMessage *msg);
/* content encrypted for room if that needs no request first; -EAGAIN otherwise. */
int e2ee_encrypt_now(Manager *m, const char *room_id, json_t *content, json_t **ret);
/* For createRoom: the initial state that encrypts a room we make, or NULL. */
json_t *e2ee_initial_state(Manager *m);
int e2ee_room_created(Manager *m, const char *room_id);

/* alerts-io.c: monitoring results become alerts; OP_CREATE_DM. */
struct RunResult;
int alerts_on_result(Manager *m, const struct RunResult *res, const char *cursor);
void alerts_op_step(Manager *m, Op *op);
/* text to the customer's room, or to a direct chat opened first; id makes the transaction id;
 * cursor (may be NULL) is the journal entry it delivers. */
int alerts_queue_message(Manager *m, const Customer *cu, const char *text, const char *id, const char *cursor);
/* The homeserver took the alert op (or refused it for good): it is no longer pending. */
void alerts_delivered(Manager *m, const Op *op);
/* At the start: the alerts a stop left undelivered, queued again under their transaction ids. */
int alerts_queue_pending(Manager *m);

/* reminders.c: before each weekly maintenance, [scheduler] maintenance_reminder ahead. */
int reminders_arm(Manager *m);
/* schedules.c: the customer's next weekly maintenance after after (-ENOENT: none active). */
int schedules_next_maintenance(Manager *m, const Customer *cu, time_t after, time_t *ret);

/* results-io.c: results from the journal; list runs. */
int journal_follow(Manager *m);
/* A run's end reads the journal at once; no other unit wakes us. */
void journal_watch_run(Manager *m, const char *unit);
void journal_unwatch_run(Manager *m, const char *unit);
void journal_unwatch_all(Manager *m);
/* Tells the customer of each maintenance an earlier boot cut short, once (never fails). */
int journal_report_interrupted(Manager *m);
int journal_list_runs(const char *customer, const char *zone, char **ret_text);
/* Whether the command event_id of customer ran already (any entry of its run): 1, 0 or -errno. */
int journal_run_seen(const char *customer, const char *event_id);
