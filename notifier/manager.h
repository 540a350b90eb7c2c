/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "config.h"
#include "matrix-sync.h"
#include "matrix.h"
#include "ratelimit.h"
#include "state.h"

/* The notifier's state, shared by its modules: each keeps its part here and is handed the Manager.
 * The loop that steps them is loop.c; this is only what they may ask of it (manager.c). */

typedef struct Manager Manager;
typedef struct Op Op;
typedef struct Crypto Crypto;
typedef struct Progress Progress;
typedef struct RunWatch RunWatch;

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

struct Manager {
        sd_event *event;
        sd_event_source *wake; /* manager_wake(): the loop's step, once back in the event loop */
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

        /* What encryption registers (loop.c gives e2ee.c's): whether a room is encrypted, and the
         * steps of a message to one. */
        bool (*room_encrypted)(Manager *m, const char *room_id);
        void (*send_encrypted)(Manager *m, Op *op);
};

/* What any module may ask of the loop (manager.c); none of them calls into the loop's driver. */

/* Something changed (an answer came, an op is done, a batch is handled): the loop steps the lanes
 * once it is back in the event loop (loop.c), however many ask before. */
void manager_wake(Manager *m);
/* The state saved within SAVE_SOON_USEC, once for all that changes meanwhile: for what a crash may
 * repeat (a burst's alerts, under their transaction ids) or read again from the journal. */
void manager_save_soon(Manager *m);
void manager_exit(Manager *m, int code);
void manager_fatal_oom(Manager *m);
