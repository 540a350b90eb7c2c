/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Encrypted rooms (e2ee-rooms.c): what a /sync batch tells the crypto layer, and the steps of a
 * message to an encrypted room. */

#include "manager.h"
#include "ops.h"

/* To-device messages (a key request, a shared session): they hold back every message behind. */
extern const OpType op_to_device;

/* Before the handler: to-device keys, device lists, encrypted rooms, and decryption. A message whose
 * key has not come yet waits a little for it (the key may travel apart from the message): the
 * batch's messages are then those that can be handled now, waiting ones first. */
int e2ee_process_batch(Manager *m, SyncBatch *b, bool initial);
/* While messages wait for their keys, the next /sync returns sooner (ms). */
unsigned e2ee_sync_timeout_ms(Manager *m, unsigned timeout_ms);
void e2ee_free_waiting(Manager *m);
bool e2ee_room_encrypted(Manager *m, const char *room_id);
/* The op_send to an encrypted room, step by step (members, devices, keys, share, send). */
void e2ee_send_step(Manager *m, Op *op);
/* A message the bot cannot decrypt: one reply asking to send it again, and a key request. */
int e2ee_undecryptable(Manager *m, const SyncMessage *msg);
/* content encrypted for room if that needs no request first; -EAGAIN otherwise. */
int e2ee_encrypt_now(Manager *m, const char *room_id, json_t *content, json_t **ret);
/* For createRoom: the initial state that encrypts a room we make, or NULL. */
json_t *e2ee_initial_state(Manager *m);
int e2ee_room_created(Manager *m, const char *room_id);
