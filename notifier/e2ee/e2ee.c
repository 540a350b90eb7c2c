/* SPDX-License-Identifier: GPL-3.0-or-later */

/* End-to-end encryption on the lanes. The sync lane opens the crypto store once the device is
 * known, keeps our keys uploaded and cross-signs us; each batch's to-device keys, device lists and
 * encrypted messages go through crypto.c before the handler sees them. On the send lane an op_send
 * to an encrypted room takes the steps sharing needs (members, their devices, one-time keys, the
 * session over Olm) and then goes out as m.room.encrypted. Never a plaintext message there. */

#include <malloc.h>

#include "crypto.h"
#include "e2ee.h"
#include "lanes.h"
#include "log.h"
#include "manager.h"

#define REQUEST_TIMEOUT_MS 30000U
#define CRYPTO_KEY_MIN 16

int e2ee_read_key(Manager *m) {
        const char *path = m->config->crypto_key_file;
        int r;

        if (!path)
                return 0;
        r = read_secret_file(path, &m->crypto_key);
        if (r == -EBADMSG)
                return log_error_errno(r, "The crypto key in %s must be one non-empty line.", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read the crypto key from %s: %m", path);
        if (strlen(m->crypto_key) < CRYPTO_KEY_MIN) {
                log_error("The crypto key in %s is too short: use at least %u characters, like the output "
                          "of `head -c 32 /dev/urandom | base64`.",
                          path, CRYPTO_KEY_MIN);
                return -EINVAL;
        }
        return 0;
}

static char *store_path(Manager *m) {
        char *p;
        return asprintf(&p, "%s/crypto.json", m->config->state_dir) < 0 ? NULL : p;
}

static void e2ee_save(Manager *m) {
        int r = crypto_save(m->crypto);

        if (r < 0)
                log_error_errno(r, "Failed to save the crypto store in %s, continuing: %m",
                                m->config->state_dir);
}

static void fatal_store(Manager *m, const char *why) {
        log_error("The crypto store %s/crypto.json cannot be used: %s. Restore it from a backup, or let "
                  "the bot start over as a new device: stop it, remove \"device_id\" and \"access_token\" "
                  "from %s/state.json, and start it.",
                  m->config->state_dir, why, m->config->state_dir);
        manager_exit(m, EXIT_FAILURE);
}

/* Rooms known to be encrypted before the store was: the store knows them too (default settings
 * until their m.room.encryption comes again). */
static int adopt_rooms(Manager *m) {
        json_auto_t *dflt = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM);
        const char *room;
        json_t *v;

        if (!dflt)
                return -ENOMEM;
        json_object_foreach(m->state->encrypted, room, v)
                if (!crypto_room_encrypted(m->crypto, room) &&
                    crypto_room_set_encryption(m->crypto, room, dflt) < 0)
                        return -ENOMEM;
        return 0;
}

/* No store yet: a new device makes one; a device that published keys before has lost it. */
static void on_own_keys(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *path = store_path(m);
        json_t *mine;
        int r;

        if (!lane_answered(m, &m->sync, resp))
                return;
        mine = json_object_get(
                json_object_get(json_object_get(resp->json, "device_keys"), m->config->user_id),
                m->state->device_id);
        if (resp->status != 200) {
                log_error("The homeserver refused to list our own device keys: HTTP %li %s.", resp->status,
                          strempty(resp->errcode));
                return manager_exit(m, EXIT_FAILURE);
        }
        if (mine)
                return fatal_store(m, "it is missing, but this device published its keys with it");
        r = path ? crypto_create(path, m->crypto_key, m->config->user_id, m->state->device_id, &m->crypto)
                 : -ENOMEM;
        if (r < 0) {
                log_error_errno(r, "Failed to create the crypto store %s: %m", path);
                return manager_exit(m, EXIT_FAILURE);
        }
        log_info("Created the crypto store for device %s; Curve25519 key %s.", m->state->device_id,
                 crypto_curve25519(m->crypto));
        if (adopt_rooms(m) < 0)
                return manager_fatal_oom(m);
        manager_wake(m);
}

static void on_whoami(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        const char *device = json_string_value(json_object_get(resp->json, "device_id"));

        if (!lane_answered(m, &m->sync, resp))
                return;
        if (resp->status != 200 || isempty(device)) {
                log_error("End-to-end encryption needs our device id, and the homeserver did not say it "
                          "(HTTP %li %s).",
                          resp->status, strempty(resp->errcode));
                return manager_exit(m, EXIT_FAILURE);
        }
        if (state_set_session(m->state, device, m->state->access_token) < 0)
                return manager_fatal_oom(m);
        manager_wake(m);
}

static bool e2ee_open(Manager *m) {
        _cleanup_free_ char *path = store_path(m), *why = NULL;
        json_auto_t *body = NULL;
        int r;

        if (!m->state->device_id) {
                (void) lane_request(m, &m->sync, "GET", "/_matrix/client/v3/account/whoami", NULL,
                                    REQUEST_TIMEOUT_MS, on_whoami);
                return true;
        }
        r = path ? crypto_open(path, m->crypto_key, m->config->user_id, m->state->device_id, &m->crypto,
                               &why)
                 : -ENOMEM;
        if (r == -ENOENT) {
                body = json_pack("{s:{s:[s]}}", "device_keys", m->config->user_id, m->state->device_id);
                if (!body)
                        return manager_fatal_oom(m), true;
                (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/keys/query", body,
                                    REQUEST_TIMEOUT_MS, on_own_keys);
                return true;
        }
        if (r == -EKEYREJECTED)
                return fatal_store(
                               m, "crypto_key_file does not open it (a wrong key, or the store is damaged)"),
                       true;
        if (r < 0) {
                if (!why)
                        why = strdup(strerror(-r));
                return fatal_store(m, why ?: "unreadable"), true;
        }
        log_info("Opened the crypto store of device %s.", m->state->device_id);
        if (crypto_trimmed(m->crypto) > 0) {
                log_warning("The crypto store held %zu entries that were malformed or over its limits "
                            "(Olm peers, Megolm sessions, remembered messages, devices); dropped the ones "
                            "used longest ago.",
                            crypto_trimmed(m->crypto));
                e2ee_save(m);
                /* Reading a store that big took memory the bot will not need again. */
                (void) malloc_trim(0);
        }
        if (adopt_rooms(m) < 0)
                return manager_fatal_oom(m), true;
        return false;
}

static void on_keys_uploaded(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        json_t *count =
                json_object_get(json_object_get(resp->json, "one_time_key_counts"), "signed_curve25519");

        if (!lane_answered(m, &m->sync, resp))
                return;
        if (resp->status != 200) {
                log_error("The homeserver refused our device keys: HTTP %li %s %s. Is the crypto store of "
                          "another device?",
                          resp->status, strempty(resp->errcode), strempty(resp->errmsg));
                return manager_exit(m, EXIT_FAILURE);
        }
        crypto_upload_done(m->crypto);
        e2ee_save(m);
        m->otk_count = json_is_integer(count) ? (long) json_integer_value(count) : -1;
        m->fallback_used = false;
        manager_wake(m);
}

static void cross_signing_failed(Manager *m, const MatrixResponse *resp) {
        log_warning("Cross-signing not set up (HTTP %li %s %s); clients will show this device as not "
                    "verified by its owner, ignoring.",
                    resp->status, strempty(resp->errcode), strempty(resp->errmsg));
        json_decref(m->cross_signing);
        m->cross_signing = NULL;
        manager_wake(m);
}

static void on_signatures(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;

        if (!lane_answered(m, &m->sync, resp))
                return;
        if (resp->status != 200 || json_object_size(json_object_get(resp->json, "failures")) > 0)
                return cross_signing_failed(m, resp);
        crypto_cross_signing_uploaded(m->crypto, json_object_get(m->cross_signing, "keys"));
        e2ee_save(m);
        log_info("Published our cross-signing keys; this device is signed by them.");
        json_decref(m->cross_signing);
        m->cross_signing = NULL;
        manager_wake(m);
}

static void on_cross_signing_keys(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        const char *session = json_string_value(json_object_get(resp->json, "session"));
        json_t *keys = json_object_get(m->cross_signing, "keys");

        if (!lane_answered(m, &m->sync, resp))
                return;
        /* The homeserver wants our password first (user-interactive authentication). */
        if (resp->status == 401 && session && !json_object_get(keys, "auth")) {
                if (json_object_set_new(keys, "auth",
                                        json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type",
                                                  "m.login.password", "identifier", "type", "m.id.user",
                                                  "user", m->config->user_id, "password", m->password,
                                                  "session", session)) < 0)
                        return manager_fatal_oom(m);
                (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/keys/device_signing/upload",
                                    keys, REQUEST_TIMEOUT_MS, on_cross_signing_keys);
                return;
        }
        (void) json_object_del(keys, "auth");
        if (resp->status != 200)
                return cross_signing_failed(m, resp);
        (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/keys/signatures/upload",
                            json_object_get(m->cross_signing, "signatures"), REQUEST_TIMEOUT_MS,
                            on_signatures);
}

static bool cross_sign(Manager *m) {
        json_t *keys = NULL, *sigs = NULL;

        m->cross_signing_tried = true;
        if (!m->password) {
                log_notice("Cross-signing needs the bot's password (password_file); not set up.");
                return false;
        }
        if (crypto_cross_signing_new(m->crypto, &keys, &sigs) < 0)
                return manager_fatal_oom(m), true;
        m->cross_signing = json_pack("{s:o, s:o}", "keys", keys, "signatures", sigs);
        if (!m->cross_signing)
                return manager_fatal_oom(m), true;
        (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/keys/device_signing/upload", keys,
                            REQUEST_TIMEOUT_MS, on_cross_signing_keys);
        return true;
}

bool e2ee_sync_step(Manager *m) {
        json_auto_t *body = NULL;
        int r;

        if (!m->crypto_key)
                return false;
        if (!m->crypto && e2ee_open(m))
                return true;
        if (!m->crypto)
                return false;
        r = crypto_upload_body(m->crypto, m->otk_count, m->fallback_used, &body);
        if (r < 0)
                return manager_fatal_oom(m), true;
        if (body) {
                e2ee_save(m); /* the keys we upload are the ones we keep */
                (void) lane_request(m, &m->sync, "POST", "/_matrix/client/v3/keys/upload", body,
                                    REQUEST_TIMEOUT_MS, on_keys_uploaded);
                return true;
        }
        if (!crypto_cross_signing_done(m->crypto) && !m->cross_signing_tried)
                return cross_sign(m);
        return false;
}
