/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Encrypted rooms: what a /sync batch tells the crypto layer, and the steps of a message to an
 * encrypted room on the send lane. */

#include "crypto.h"
#include "e2ee-rooms.h"
#include "lanes.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "reply.h"

#define REQUEST_TIMEOUT_MS 30000U
/* How long a message waits for its room key before we ask the customer to send it again. */
#define KEY_WAIT_MS 5000U

bool e2ee_room_encrypted(Manager *m, const char *room_id) {
        return state_room_encrypted(m->state, room_id);
}

static void note_rooms(Manager *m, SyncBatch *b) {
        const char *room;
        json_t *v;

        json_object_foreach(b->encryption, room, v) {
                if (!state_room_encrypted(m->state, room)) {
                        log_info("Room %s is end-to-end encrypted.", room);
                        if (state_set_encrypted(m->state, room) < 0)
                                (void) log_oom();
                }
                if (m->crypto && crypto_room_set_encryption(m->crypto, room, v) == -EOPNOTSUPP)
                        log_warning("Room %s uses an encryption algorithm we do not know, ignoring.", room);
        }
        json_object_foreach(b->members_changed, room, v) {
                (void) json_object_del(m->members, room);
                /* Someone left: they must not read what comes next. */
                if (json_is_true(v) && m->crypto)
                        crypto_room_rotate(m->crypto, room);
        }
}

static int decrypt_message(Manager *m, SyncMessage *msg) {
        _cleanup_free_ char *why = NULL;
        json_auto_t *plain = NULL;
        int r;

        msg->undecryptable = false;
        r = crypto_room_decrypt(m->crypto, msg->room_id, msg->encrypted, &plain, &why);
        if (r == -ENOMEM)
                return log_oom();
        if (r == -ENOKEY) {
                log_debug("Cannot decrypt %s from %s in %s yet: %s.", msg->event_id, msg->sender,
                          msg->room_id, strempty(why));
                msg->undecryptable = true;
        } else if (r < 0)
                log_warning("Ignoring encrypted message %s from %s in %s: %s.", msg->event_id, msg->sender,
                            msg->room_id, strempty(why));
        else if (matrix_sync_message_decrypted(msg, plain) < 0)
                return log_oom();
        return 0;
}

void e2ee_free_waiting(Manager *m) {
        for (size_t i = 0; i < m->n_waiting; i++)
                matrix_sync_message_done(&m->waiting[i]);
        m->waiting = mfree(m->waiting);
        m->waiting_since = mfree(m->waiting_since);
        m->n_waiting = 0;
}

unsigned e2ee_sync_timeout_ms(Manager *m, unsigned timeout_ms) {
        return m->n_waiting > 0 ? MIN(timeout_ms, KEY_WAIT_MS) : timeout_ms;
}

/* The batch's messages become: the waiting ones that decrypt now or waited long enough (to be
 * answered "send again"), then the batch's own, less those that start waiting. */
static int sort_messages(Manager *m, SyncBatch *b, bool initial) {
        size_t total = m->n_waiting + b->n_messages, n = 0, k = 0;
        _cleanup_free_ SyncMessage *out = calloc(total ?: 1, sizeof(SyncMessage));
        _cleanup_free_ SyncMessage *still = calloc(total ?: 1, sizeof(SyncMessage));
        _cleanup_free_ uint64_t *since = calloc(total ?: 1, sizeof(uint64_t));
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (!out || !still || !since)
                return log_oom();
        for (size_t i = 0; i < m->n_waiting; i++) {
                r = decrypt_message(m, &m->waiting[i]);
                if (r < 0)
                        return r;
                if (m->waiting[i].undecryptable && now < m->waiting_since[i] + KEY_WAIT_MS * USEC_PER_MSEC) {
                        since[k] = m->waiting_since[i];
                        still[k++] = m->waiting[i];
                } else
                        out[n++] = m->waiting[i];
        }
        for (size_t i = 0; i < b->n_messages; i++) {
                /* The first sync's history is not answered at all: nothing to wait for. */
                if (b->messages[i].undecryptable && !initial) {
                        log_info("No key yet for %s from %s in %s; waiting up to %u s for it.",
                                 b->messages[i].event_id, b->messages[i].sender, b->messages[i].room_id,
                                 KEY_WAIT_MS / 1000);
                        since[k] = now;
                        still[k++] = b->messages[i];
                } else
                        out[n++] = b->messages[i];
        }
        free(b->messages);
        b->messages = TAKE_PTR(out);
        b->n_messages = n;
        free(m->waiting);
        free(m->waiting_since);
        m->waiting = TAKE_PTR(still);
        m->waiting_since = TAKE_PTR(since);
        m->n_waiting = k;
        return 0;
}

/* Who is in the bot's rooms, as the batch tells: the senders of its messages (the homeserver let
 * them send), then its member events. A room key is kept only from a member of its room: the
 * number of keys that waited for that and are kept now. */
static int note_members(Manager *m, SyncBatch *b) {
        const char *room, *user;
        json_t *users, *member;
        int r, kept = 0;

        for (size_t i = 0; i < b->n_messages; i++) {
                r = crypto_room_member(m->crypto, b->messages[i].room_id, b->messages[i].sender, true);
                if (r < 0)
                        return r;
                kept += r;
        }
        json_object_foreach(b->members, room, users)
                json_object_foreach(users, user, member) {
                        r = crypto_room_member(m->crypto, room, user, json_is_true(member));
                        if (r < 0)
                                return r;
                        kept += r;
                }
        return kept;
}

/* Anyone may send the bot to-device messages, thousands a minute: five a minute are told in the
 * journal, the rest counted. */
#define TO_DEVICE_WARNINGS 5U
#define TO_DEVICE_WINDOW_USEC (60U * USEC_PER_SEC)

static bool to_device_tell(Manager *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (now >= m->to_device_window + TO_DEVICE_WINDOW_USEC) {
                if (m->to_device_untold > 0)
                        log_warning("Ignored %zu more encrypted to-device messages in the minute before.",
                                    m->to_device_untold);
                m->to_device_window = now;
                m->to_device_told = 0;
                m->to_device_untold = 0;
        }
        if (m->to_device_told < TO_DEVICE_WARNINGS) {
                m->to_device_told++;
                return true;
        }
        m->to_device_untold++;
        return false;
}

static int receive_to_device(Manager *m, SyncBatch *b) {
        size_t i;
        json_t *v;
        int r;

        json_array_foreach(b->to_device, i, v) {
                _cleanup_free_ char *why = NULL;
                const char *sender = strempty(json_string_value(json_object_get(v, "sender")));

                r = crypto_to_device(m->crypto, v, &why);
                if (r == -ENOMEM)
                        return log_oom();
                if (r >= 0) {
                        if (r > 0)
                                log_debug("Received a room key from %s.", sender);
                        continue;
                }
                if (to_device_tell(m))
                        log_warning("Ignoring an encrypted to-device message from %.255s: %s.", sender,
                                    strempty(why));
        }
        return 0;
}

static bool batch_touches_crypto(const SyncBatch *b) {
        const char *room;
        json_t *left;

        if (json_object_size(b->encryption) > 0)
                return true;
        /* Someone who left rotates the room's session (note_rooms()); one who came changes nothing
         * stored (the bot's own joins, the members homeservers send along with messages). */
        json_object_foreach(b->members_changed, room, left)
                if (json_is_true(left))
                        return true;
        for (size_t i = 0; i < b->n_messages; i++)
                if (b->messages[i].encrypted)
                        return true;
        return false;
}

int e2ee_process_batch(Manager *m, SyncBatch *b, bool initial) {
        unsigned changes;
        bool stale = false;
        size_t i;
        json_t *v;
        int r;

        note_rooms(m, b);
        if (!m->crypto)
                return 0;
        changes = crypto_sessions_changed(m->crypto);
        r = note_members(m, b);
        if (r < 0)
                return log_oom();
        stale = r > 0;
        if (b->otk_count >= 0)
                m->otk_count = b->otk_count;
        if (b->fallback_used)
                m->fallback_used = true;
        /* Synapse names a sender here again with each message of theirs it sends along its member
         * event (lazy-loading; the bot's own too): only a user whose keys we hold changes the store. */
        json_array_foreach(b->devices_changed, i, v)
                stale |= crypto_devices_changed(m->crypto, json_string_value(v));
        r = receive_to_device(m, b);
        if (r < 0)
                return r;
        for (size_t k = 0; k < b->n_messages; k++) {
                if (!b->messages[k].encrypted)
                        continue;
                r = decrypt_message(m, &b->messages[k]);
                if (r < 0)
                        return r;
        }
        r = sort_messages(m, b, initial);
        if (r < 0)
                return r;
        /* An idle /sync, and to-device messages that did not decrypt, change nothing worth a write. */
        if (!stale && changes == crypto_sessions_changed(m->crypto) && !batch_touches_crypto(b))
                return 0;
        r = crypto_save(m->crypto);
        if (r < 0)
                log_error_errno(r, "Failed to save the crypto store, continuing: %m");
        return 0;
}

/* The members of room, as last asked; NULL if not known. */
static char **members_of(Manager *m, const char *room_id) {
        json_t *list = json_object_get(m->members, room_id), *v;
        char **l = NULL;
        size_t i;

        if (!list)
                return NULL;
        json_array_foreach(list, i, v)
                if (strv_extend(&l, json_string_value(v)) < 0)
                        return strv_free(l), NULL;
        return l ?: calloc(1, sizeof(char *));
}

/* An answer on the send lane for an encrypted message's step: false if it is dealt with. */
static bool step_answered(Manager *m, const MatrixResponse *resp, const char *what) {
        Op *op = m->ops;

        if (!lane_answered(m, &m->send, resp))
                return false;
        if (resp->status == 200)
                return true;
        log_warning("The homeserver refused %s for a message to %s: HTTP %li %s %s; dropping the message.",
                    what, op->room_id, resp->status, strempty(resp->errcode), strempty(resp->errmsg));
        ops_done(m);
        return false;
}

/* Joined and invited members: an invited owner reads what we said before joining (the history
 * of the rooms we make is shared from the invite on). */
static void on_members(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        json_t *list = json_array(), *e;
        size_t i;

        if (!m->members)
                m->members = json_object();
        if (!list || !m->members)
                return json_decref(list), manager_fatal_oom(m);
        if (!step_answered(m, resp, "the member list"))
                return (void) json_decref(list);
        json_array_foreach(json_object_get(resp->json, "chunk"), i, e) {
                const char *user = json_string_value(json_object_get(e, "state_key")),
                           *membership = json_string_value(
                                   json_object_get(json_object_get(e, "content"), "membership"));
                if (!user || (!streq_ptr(membership, "join") && !streq_ptr(membership, "invite")))
                        continue;
                if (json_array_append_new(list, json_string(user)) < 0 ||
                    crypto_room_member(m->crypto, m->ops->room_id, user, true) < 0)
                        return json_decref(list), manager_fatal_oom(m);
        }
        if (json_object_set_new(m->members, m->ops->room_id, list) < 0)
                return manager_fatal_oom(m);
        manager_wake(m);
}

static void on_devices(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;

        if (!step_answered(m, resp, "the device lists"))
                return;
        if (crypto_devices_update(m->crypto, resp->json, op->query_users) < 0)
                return manager_fatal_oom(m);
        op->query_users = (strv_free(op->query_users), NULL);
        manager_wake(m);
}

static void on_claimed(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;

        if (!step_answered(m, resp, "one-time keys"))
                return;
        if (crypto_claimed(m->crypto, op->claim, resp->json) < 0)
                return manager_fatal_oom(m);
        json_decref(op->claim);
        op->claim = NULL;
        (void) crypto_save(m->crypto);
        manager_wake(m);
}

static void on_shared(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;
        int r;

        if (!step_answered(m, resp, "sharing our room key"))
                return;
        crypto_shared(m->crypto, op->room_id, op->recipients);
        json_decref(op->share);
        json_decref(op->recipients);
        op->share = op->recipients = NULL;
        r = crypto_save(m->crypto);
        if (r < 0)
                log_error_errno(r, "Failed to save the crypto store, continuing: %m");
        manager_wake(m);
}

/* PUT /sendToDevice/TYPE/TXN, or with a room: PUT /rooms/ROOM/send/TYPE/TXN */
static void send_put(Manager *m, const char *room, const char *type, const char *txn, json_t *body,
                     matrix_callback_t cb) {
        _cleanup_free_ char *er = room ? matrix_escape(room) : NULL, *et = matrix_escape(type),
                            *ex = matrix_escape(txn ?: ""), *path = NULL;

        if ((room && !er) || !et || !ex ||
            (room ? asprintf(&path, "/_matrix/client/v3/rooms/%s/send/%s/%s", er, et, ex)
                  : asprintf(&path, "/_matrix/client/v3/sendToDevice/%s/%s", et, ex)) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, "PUT", path, body, REQUEST_TIMEOUT_MS, cb);
}

static void ask_members(Manager *m, Op *op) {
        _cleanup_free_ char *room = matrix_escape(op->room_id), *path = NULL;

        if (!room || asprintf(&path, "/_matrix/client/v3/rooms/%s/members?not_membership=leave", room) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, "GET", path, NULL, REQUEST_TIMEOUT_MS, on_members);
}

static void ask_devices(Manager *m, Op *op, char **users) {
        json_auto_t *body = json_pack("{s:{}}", "device_keys");

        for (char **u = users; body && *u; u++)
                if (json_object_set_new(json_object_get(body, "device_keys"), *u, json_array()) < 0)
                        return manager_fatal_oom(m);
        if (!body)
                return manager_fatal_oom(m);
        op->query_users = users;
        (void) lane_request(m, &m->send, "POST", "/_matrix/client/v3/keys/query", body, REQUEST_TIMEOUT_MS,
                            on_devices);
}

/* The session is shared with every device that can have it: encrypt once, then send (and resend
 * the same ciphertext on a retry). */
static void send_encrypted(Manager *m, Op *op) {
        int r;

        if (!op->encrypted) {
                r = crypto_room_encrypt(m->crypto, op->room_id, "m.room.message", op->content,
                                        &op->encrypted);
                if (r < 0) {
                        log_error_errno(r, "Failed to encrypt a message for %s, dropping it: %m",
                                        op->room_id);
                        return ops_done(m);
                }
                r = crypto_save(m->crypto);
                if (r < 0) {
                        /* Sending would reuse this message key after a restart. */
                        log_error_errno(r, "Failed to save the crypto store, not sending: %m");
                        return manager_exit(m, EXIT_FAILURE);
                }
        }
        send_put(m, op->room_id, "m.room.encrypted", op->txn_id, op->encrypted, on_op);
}

static int share_session(Manager *m, Op *op, char **members) {
        int r;

        r = crypto_share_body(m->crypto, op->room_id, members, &op->share, &op->recipients);
        if (r < 0 || !op->share)
                return r;
        r = crypto_save(m->crypto);
        if (r < 0 || asprintf(&op->share_txn, "share-%016llx-%u",
                              (unsigned long long) hash_fnv1a(op->room_id), (unsigned) random()) < 0)
                return r < 0 ? r : -ENOMEM;
        return 1;
}

void e2ee_send_step(Manager *m, Op *op) {
        _cleanup_strv_free_ char **members = NULL;
        json_auto_t *claim = NULL;
        char **unknown;
        int r;

        if (!m->crypto) {
                log_error("Room %s is end-to-end encrypted, but [matrix] crypto_key_file is not set: not "
                          "sending a message there in plaintext.",
                          op->room_id);
                return ops_done(m);
        }
        if (op->encrypted)
                return send_encrypted(m, op);
        if (op->share)
                return send_put(m, NULL, "m.room.encrypted", op->share_txn, op->share, on_shared);
        if (!crypto_room_encrypted(m->crypto, op->room_id)) {
                json_auto_t *dflt = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM);
                if (!dflt || crypto_room_set_encryption(m->crypto, op->room_id, dflt) < 0)
                        return manager_fatal_oom(m);
        }
        members = members_of(m, op->room_id);
        if (!members)
                return ask_members(m, op);
        unknown = crypto_devices_unknown(m->crypto, members);
        if (unknown)
                return ask_devices(m, op, unknown);
        r = crypto_claim_body(m->crypto, op->room_id, members, &claim);
        if (r < 0)
                return manager_fatal_oom(m);
        if (claim) {
                op->claim = json_incref(claim);
                return (void) lane_request(m, &m->send, "POST", "/_matrix/client/v3/keys/claim", claim,
                                           REQUEST_TIMEOUT_MS, on_claimed);
        }
        r = share_session(m, op, members);
        if (r < 0)
                return manager_fatal_oom(m);
        if (r > 0)
                return e2ee_send_step(m, op);
        send_encrypted(m, op);
}

static void on_to_device(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;

        if (!lane_answered(m, &m->send, resp))
                return;
        if (resp->status != 200)
                log_warning("The homeserver refused a %s to-device message: HTTP %li %s.",
                            m->ops->event_type, resp->status, strempty(resp->errcode));
        ops_done(m);
}

static void to_device_step(Manager *m, Op *op) {
        send_put(m, NULL, op->event_type, op->txn_id, op->content, on_to_device);
}

const OpType op_to_device = { .name = "send to the devices in", .step = to_device_step, .holds_all = true };

int e2ee_undecryptable(Manager *m, const SyncMessage *msg) {
        _cleanup_free_ char *request_id = NULL;
        json_auto_t *request = NULL;
        Op *op;
        int r;

        if (!m->crypto || !config_find_owner(m->config, msg->sender))
                return 0;
        log_notice("Cannot decrypt %s from %s in %s: no key for it came; asking to send it again.",
                   msg->event_id, msg->sender, msg->room_id);
        r = ops_queue_reply(
                m, msg,
                "🔒 I could not decrypt your message: its key has not reached me. I have asked "
                "your devices for it; please send the message again.");
        if (r < 0)
                return r;
        request = crypto_key_request(m->crypto, msg->room_id, json_object_get(msg->encrypted, "content"),
                                     &request_id);
        if (!request)
                return 0;
        op = op_for_message(msg, &op_to_device);
        if (!op)
                return log_oom();
        op->event_type = strdup("m.room_key_request");
        op->content = json_pack("{s:{s:{s:O}, s:{s:O}}}", "messages", msg->sender, "*", request,
                                m->config->user_id, "*", request);
        if (!op->event_type || !op->content || free_and_strdup(&op->txn_id, request_id) < 0)
                return log_oom();
        ops_queue(m, TAKE_PTR(op));
        return 0;
}

int e2ee_encrypt_now(Manager *m, const char *room_id, json_t *content, json_t **ret) {
        _cleanup_strv_free_ char **members = NULL;
        int r;

        if (!m->crypto)
                return -EPERM;
        members = members_of(m, room_id);
        if (!members || !crypto_room_ready(m->crypto, room_id, members))
                return -EAGAIN;
        r = crypto_room_encrypt(m->crypto, room_id, "m.room.message", content, ret);
        if (r >= 0)
                r = crypto_save(m->crypto);
        return r;
}

json_t *e2ee_initial_state(Manager *m) {
        if (!m->crypto || !m->config->encrypt_rooms)
                return NULL;
        return json_pack("[{s:s, s:s, s:{s:s}}]", "type", "m.room.encryption", "state_key", "", "content",
                         "algorithm", MEGOLM_ALGORITHM);
}

int e2ee_room_created(Manager *m, const char *room_id) {
        json_auto_t *content = NULL;

        if (!m->crypto || !m->config->encrypt_rooms)
                return 0;
        content = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM);
        if (!content || state_set_encrypted(m->state, room_id) < 0 ||
            crypto_room_set_encryption(m->crypto, room_id, content) < 0)
                return -ENOMEM;
        return 0;
}
