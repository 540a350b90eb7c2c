/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What crypto.c, crypto-olm.c and crypto-room-keys.c share; nothing else includes this. */

#include <olm/olm.h>

#include "crypto.h"

struct Crypto {
        char *path;
        char *key; /* pickle key, from [matrix] crypto_key_file */
        size_t key_len;
        char *user_id;
        char *device_id;
        OlmAccount *account;
        char *curve25519;
        char *ed25519;
        json_t *store;   /* everything but the account, as it is saved */
        json_t *no_otk;  /* "user device": claimed without a one-time key (until it changes) */
        json_t *members; /* room id → {user id: true}, as /sync and member lists tell (not saved) */
        json_t *pending; /* room keys whose sender was not seen in their room yet (not saved) */
        size_t trimmed;  /* entries crypto_open() dropped */
        unsigned sessions_changed;
};

/* What events from outside can make the store hold, at most (crypto-limits.c). Anyone on the
 * federation can send this device to-device messages and open Olm sessions with it; a member of a
 * room can make many Megolm sessions and messages. With these, crypto.json stays under ~8 MB. */
#define CRYPTO_PEERS_MAX 500           /* devices we hold Olm sessions with */
#define CRYPTO_SESSIONS_PER_PEER 5
#define CRYPTO_INBOUND_MAX 1000        /* others' Megolm sessions */
#define CRYPTO_INBOUND_PER_SENDER 20   /* ... of one device in one room */
#define CRYPTO_SEEN_MAX 100            /* message indices remembered per session (replays) */
#define CRYPTO_DEVICES_PER_USER 50
#define CRYPTO_MEMBERS_PER_ROOM 10000
#define CRYPTO_PENDING_MAX 64

/* Returns r, with why in *ret_why (if asked). */
int crypto_why(char **ret_why, int r, const char *why);
/* Sub-objects of the store. */
json_t *crypto_section(Crypto *c, const char *name);
/* n random bytes, or NULL. */
uint8_t *crypto_random(size_t n);

/* Pickling with the store's key. Each returns NULL on failure (a wrong key, a corrupt entry). */
char *crypto_pickle_session(Crypto *c, OlmSession *s);
OlmSession *crypto_unpickle_session(Crypto *c, const char *pickled);
OlmSession *crypto_session_new(void);
void crypto_session_free(OlmSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(OlmSession *, crypto_session_free);

/* crypto-limits.c */
/* Marks key of section as used now: eviction takes the one used longest ago (jansson keeps an
 * object's keys in the order they were set, and so does the store's file). */
int crypto_touch(json_t *section, const char *key);
/* Over the limit, drops the Olm sessions used longest ago, of devices we know of no member last. */
void crypto_olm_evict(Crypto *c);
/* Over the limits, drops the Megolm sessions used longest ago: of sender_key in room_id, of all. */
void crypto_inbound_evict(Crypto *c, const char *room_id, const char *sender_key);
/* Drops what the store holds that is malformed or over the limits; the number dropped. */
size_t crypto_trim(Crypto *c);
/* A session's seen map held to CRYPTO_SEEN_MAX (see crypto_room_decrypt()); what was dropped. */
size_t crypto_seen_trim(json_t *entry);
/* The inbound session's id in the store. */
char *crypto_inbound_id(const char *room_id, const char *sender_key, const char *session_id);

/* crypto-olm.c */
int crypto_olm_encrypt(Crypto *c, const char *user, json_t *device_keys, const char *type,
                       json_t *content, json_t **ret);
/* crypto-room-keys.c */
int crypto_store_room_key(Crypto *c, json_t *content, const char *sender, const char *sender_key,
                          bool forwarded, char **ret_why);
json_t *crypto_device(Crypto *c, const char *user, const char *device);
/* map[user][device] = value (taken); NULL on failure. */
json_t *crypto_device_map_add(json_t *map, const char *user, const char *device, json_t *value);
