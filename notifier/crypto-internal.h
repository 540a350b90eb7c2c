/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What crypto.c, crypto-olm.c and crypto-megolm.c share; nothing else includes this. */

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
        json_t *store;  /* everything but the account, as it is saved */
        json_t *no_otk; /* "user device": claimed without a one-time key (until it changes) */
};

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

/* crypto-olm.c */
int crypto_olm_encrypt(Crypto *c, const char *user, json_t *device_keys, const char *type,
                       json_t *content, json_t **ret);
/* crypto-megolm.c */
int crypto_store_room_key(Crypto *c, json_t *content, const char *sender, const char *sender_key,
                          bool forwarded, char **ret_why);
json_t *crypto_device(Crypto *c, const char *user, const char *device);
/* map[user][device] = value (taken); NULL on failure. */
json_t *crypto_device_map_add(json_t *map, const char *user, const char *device, json_t *value);
