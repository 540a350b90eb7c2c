/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the notifier needs out of a /sync answer: invites and new text messages. Pure; anything
 * malformed in the homeserver's JSON is skipped, never trusted. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "command.h"
#include "util.h"

typedef struct SyncInvite {
        char *room_id;
        char *inviter;
} SyncInvite;

typedef struct SyncMessage {
        char *room_id;
        char *event_id;
        char *sender;
        char *msgtype;               /* NULL for an encrypted event until it is decrypted */
        char *body;                  /* a reply's without its fallback (the quote of what it answers);
                                      * "" if over COMMAND_MAX: no part of it is a command */
        size_t body_size;            /* the body's real size in bytes, NULs included */
        json_t *encrypted;           /* an m.room.encrypted event, as it came */
        bool undecryptable;          /* encrypted with a session we lack */
        uint64_t origin_server_ts;   /* ms since the epoch */
        bool edit;                   /* an m.replace of an earlier message */
} SyncMessage;

typedef struct SyncBatch {
        char *next_batch;
        SyncInvite *invites;
        size_t n_invites;
        SyncMessage *messages;
        size_t n_messages;
        bool limited;                /* the homeserver left out part of some room's timeline */
        json_t *gaps;                /* room id → prev_batch of each timeline it cut short */

        /* End-to-end encryption: what the crypto layer needs, as the homeserver sent it. */
        json_t *to_device;           /* array of to-device events */
        json_t *devices_changed;     /* array of user ids whose device lists changed */
        json_t *encryption;          /* room id → m.room.encryption content */
        json_t *members_changed;     /* room id → true if someone left, false if someone joined */
        json_t *members;             /* room id → {user id → true if joined or invited, false if not} */
        long otk_count;              /* our one-time keys the server holds; -1: not said */
        bool fallback_used;          /* the server said our fallback key was used */
} SyncBatch;

/* Messages sent by own_user are left out. -EBADMSG if the answer has no next_batch. */
int matrix_sync_parse(json_t *root, const char *own_user, SyncBatch **ret);
SyncBatch *matrix_sync_batch_free(SyncBatch *b);
void matrix_sync_message_done(SyncMessage *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(SyncBatch *, matrix_sync_batch_free);

/* Messages of room_id from events (oldest first, as /messages gives them with dir=f, or reversed
 * for dir=b), put before the batch's own. */
int matrix_sync_prepend_events(SyncBatch *b, const char *room_id, json_t *events, const char *own_user);

/* Decrypted: msg becomes the message plain ({type, content}) says it is, if it is one. */
int matrix_sync_message_decrypted(SyncMessage *msg, json_t *plain);

/* The filter the notifier syncs with: messages, encrypted or not, membership and encryption. */
const char *matrix_sync_filter(void);
