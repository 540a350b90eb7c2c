/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* End-to-end encryption (Olm and Megolm over libolm), without any I/O but the store file: what to
 * upload, what a to-device or room event decrypts to, what to send to share a room's session.
 *
 * Everything lives in one JSON store (crypto.json in the state dir), every secret in it pickled by
 * libolm with the operator's key: the account, Olm sessions by the peer's Curve25519 key, inbound
 * Megolm sessions with the message indices already seen, our outbound session per room, and the
 * public part: device lists, which rooms are encrypted, our cross-signing keys. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define OLM_ALGORITHM "m.olm.v1.curve25519-aes-sha2"
#define MEGOLM_ALGORITHM "m.megolm.v1.aes-sha2"

typedef struct Crypto Crypto;

/* -ENOENT: no store at path. -EKEYREJECTED: the key does not open it. -EBADMSG: not a store, or one
 * of another user or device; ret_why says which. */
int crypto_open(const char *path, const char *key, const char *user_id, const char *device_id, Crypto **ret,
                char **ret_why);
/* A new account for this device; saved at once. */
int crypto_create(const char *path, const char *key, const char *user_id, const char *device_id,
                  Crypto **ret);
int crypto_save(Crypto *c);
Crypto *crypto_free(Crypto *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Crypto *, crypto_free);

/* How many entries crypto_open() dropped, malformed or over the store's limits (an older bot's
 * store, or one a flood grew): trimmed, never a reason not to start. */
size_t crypto_trimmed(const Crypto *c);

/* Whether k is a Curve25519 or Ed25519 public key as Matrix writes them: 32 bytes in unpadded
 * base64. Every key from outside is checked with this before it is used or kept. */
bool crypto_key_valid(const char *k);

const char *crypto_curve25519(const Crypto *c);
const char *crypto_ed25519(const Crypto *c);

/* Canonical JSON (keys sorted, no spaces) of o without "signatures" and "unsigned". */
char *crypto_canonical(json_t *o);
/* Adds our device's signature to o. */
int crypto_sign_json(Crypto *c, json_t *o);
/* Whether o carries a valid signature of user's key "ed25519:key_id" with public key ed25519. */
bool crypto_verify_json(json_t *o, const char *user, const char *key_id, const char *ed25519);

/* The body of a /keys/upload: device keys until published, one-time keys up to half of what the
 * account holds given what the server still has (server_count; -1 unknown), a fallback key. NULL in
 * *ret: nothing to upload. */
int crypto_upload_body(Crypto *c, long server_count, bool fallback_used, json_t **ret);
void crypto_upload_done(Crypto *c);

/* Cross-signing: master, self-signing and user-signing keys, made once; the private keys are used
 * for the upload and our device's signature, then forgotten. */
bool crypto_cross_signing_done(const Crypto *c);
int crypto_cross_signing_new(Crypto *c, json_t **ret_keys, json_t **ret_signatures);
void crypto_cross_signing_uploaded(Crypto *c, json_t *keys);

/* A to-device event: an Olm-encrypted m.room_key is stored if its sender is a member of its room,
 * or waits until they are seen there (crypto_room_member()); forwarded keys only from our own
 * devices signed by our self-signing key. 1 if a room key was stored, 0 if nothing to store.
 * Nothing is kept of one that does not decrypt. */
int crypto_to_device(Crypto *c, json_t *event, char **ret_why);
/* Counts the changes of Olm sessions (a to-device message decrypted, a session made): what is
 * worth a write of the store. */
unsigned crypto_sessions_changed(const Crypto *c);

/* Room membership as /sync (member events, the senders of messages) and member lists tell it;
 * kept in memory for the encrypted rooms only. A room key that came before its sender was seen
 * in the room is kept now. The number of such keys kept, or -ENOMEM. */
int crypto_room_member(Crypto *c, const char *room_id, const char *user_id, bool member);

/* A room's m.room.encrypted event. Returns the decrypted event ({type, content}) or: -ENOKEY (no
 * session: ask for it), -EEXIST (a replay: its index was seen with another event), -EPERM (the
 * session is not the sender's), -EBADMSG. */
int crypto_room_decrypt(Crypto *c, const char *room_id, json_t *event, json_t **ret, char **ret_why);
/* The to-device content asking our other devices and the sender's for a session we lack. */
json_t *crypto_key_request(Crypto *c, const char *room_id, json_t *encrypted_content, char **ret_request_id);

/* Rooms. */
bool crypto_room_encrypted(const Crypto *c, const char *room_id);
int crypto_room_set_encryption(Crypto *c, const char *room_id, json_t *content);
/* Someone left or was removed: the next message gets a new session. */
void crypto_room_rotate(Crypto *c, const char *room_id);

/* Device lists. A user's devices changed: asked for again before our next message to them. True if
 * that changed the store (their devices were known and not already to be asked for). */
bool crypto_devices_changed(Crypto *c, const char *user_id);
/* The users of members whose devices we must ask for (NULL: none). */
char **crypto_devices_unknown(Crypto *c, char **members);
int crypto_devices_update(Crypto *c, json_t *query_response, char **users);

/* Sharing our room session: the devices of members that have not got it yet and need a one-time
 * key claimed (the /keys/claim body; NULL: none). */
int crypto_claim_body(Crypto *c, const char *room_id, char **members, json_t **ret);
int crypto_claimed(Crypto *c, json_t *claim_body, json_t *claim_response);
/* The /sendToDevice body sharing the room's current session with every device of members that
 * lacks it (NULL: all have it); crypto_shared() records them once the homeserver took it. */
int crypto_share_body(Crypto *c, const char *room_id, char **members, json_t **ret, json_t **ret_recipients);
void crypto_shared(Crypto *c, const char *room_id, json_t *recipients);
/* Whether a message can go to room now without sharing first. */
bool crypto_room_ready(Crypto *c, const char *room_id, char **members);
/* Encrypts an event for room with its outbound session. */
int crypto_room_encrypt(Crypto *c, const char *room_id, const char *type, json_t *content, json_t **ret);
