/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the notifier needs out of a /sync answer: invites and new text messages. Pure; anything
 * malformed in the homeserver's JSON is skipped, never trusted. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

typedef struct SyncInvite {
        char *room_id;
        char *inviter;
} SyncInvite;

typedef struct SyncMessage {
        char *room_id;
        char *event_id;
        char *sender;
        char *msgtype;
        char *body;
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
} SyncBatch;

/* Messages sent by own_user are left out. -EBADMSG if the answer has no next_batch. */
int matrix_sync_parse(json_t *root, const char *own_user, SyncBatch **ret);
SyncBatch *matrix_sync_batch_free(SyncBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(SyncBatch *, matrix_sync_batch_free);

/* The filter the notifier syncs with: text messages and our own membership, nothing else. */
const char *matrix_sync_filter(void);
