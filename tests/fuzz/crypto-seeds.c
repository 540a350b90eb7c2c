/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Writes seeds for fuzz-crypto into DIR: a second device (bob) shares a room session with the
 * target's device over Olm, the way crypto_share_body() does, and sends room messages with it;
 * the seeds are those events, alone and together, replayed and spoofed.
 * Usage: fuzz-crypto-seeds DIR */

#include <stdio.h>

#include "crypto-internal.h"
#include "fuzz-crypto.h"
#include "fuzz.h"

#define BOB "@bob:test"

static void seed(const char *dir, const char *name, json_t *events) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s.json", dir, name) < 0 || json_dump_file(events, path, JSON_COMPACT) < 0)
                abort();
        json_decref(events);
}

/* Bob learns our device, claims a one-time key of it and shares his room session: the to-device
 * event we get. */
static json_t *share(Crypto *bob, json_t *upload) {
        char *members[] = { (char *) FUZZ_CRYPTO_USER, (char *) BOB, NULL };
        json_auto_t *q = NULL, *claim = NULL, *claimed = NULL, *body = NULL, *recipients = NULL;
        _cleanup_strv_free_ char **unknown = NULL;
        const char *id;
        json_t *v;

        q = json_pack("{s:{s:{s:O}}}", "device_keys", FUZZ_CRYPTO_USER, FUZZ_CRYPTO_DEVICE,
                      json_object_get(upload, "device_keys"));
        unknown = crypto_devices_unknown(bob, members);
        if (crypto_devices_update(bob, q, unknown) < 0 ||
            crypto_claim_body(bob, FUZZ_CRYPTO_ROOM, members, &claim) < 0)
                abort();
        json_object_foreach(json_object_get(upload, "one_time_keys"), id, v) break;
        claimed =
                json_pack("{s:{s:{s:{s:O}}}}", "one_time_keys", FUZZ_CRYPTO_USER, FUZZ_CRYPTO_DEVICE, id, v);
        if (crypto_claimed(bob, claim, claimed) < 0 ||
            crypto_share_body(bob, FUZZ_CRYPTO_ROOM, members, &body, &recipients) < 0 || !body)
                abort();
        crypto_shared(bob, FUZZ_CRYPTO_ROOM, recipients);
        return json_pack(
                "{s:s, s:s, s:O}", "type", "m.room.encrypted", "sender", BOB, "content",
                json_object_get(json_object_get(json_object_get(body, "messages"), FUZZ_CRYPTO_USER),
                                FUZZ_CRYPTO_DEVICE));
}

static json_t *message(Crypto *bob, const char *text, const char *event_id, const char *sender) {
        json_auto_t *content = json_pack("{s:s, s:s}", "msgtype", "m.text", "body", text), *enc = NULL;

        if (crypto_room_encrypt(bob, FUZZ_CRYPTO_ROOM, "m.room.message", content, &enc) < 0)
                abort();
        return json_pack("{s:s, s:s, s:s, s:s, s:O}", "type", "m.room.encrypted", "event_id", event_id,
                         "sender", sender, "room_id", FUZZ_CRYPTO_ROOM, "content", enc);
}

int main(int argc, char *argv[]) {
        json_auto_t *encryption = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM), *key = NULL, *m1 = NULL,
                    *m2 = NULL, *again = NULL, *spoof = NULL;
        _cleanup_(crypto_freep) Crypto *bob = NULL;
        _cleanup_free_ char *bob_path = NULL;
        json_t *upload, *bob_upload = NULL;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        (void) fuzz_crypto_store(&upload);
        if (asprintf(&bob_path, "%s/bob.json", fuzz_tmpdir()) < 0 ||
            crypto_create(bob_path, FUZZ_CRYPTO_KEY, BOB, "BOB", &bob) < 0 ||
            crypto_upload_body(bob, -1, false, &bob_upload) < 0 ||
            crypto_room_set_encryption(bob, FUZZ_CRYPTO_ROOM, encryption) < 0)
                abort();
        json_decref(bob_upload);
        key = share(bob, upload);
        m1 = message(bob, "run ping", "$1", BOB);
        m2 = message(bob, "schedule maintenance 2030-01-01 10:00", "$2", BOB);
        again = json_deep_copy(m1);
        json_object_set_new(again, "event_id", json_string("$replayed"));
        spoof = json_deep_copy(m2);
        json_object_set_new(spoof, "sender", json_string("@mallory:test"));

        seed(argv[1], "room-key", json_pack("[O]", key));
        seed(argv[1], "room-key-and-message", json_pack("[O, O]", key, m1));
        seed(argv[1], "two-messages", json_pack("[O, O, O]", key, m1, m2));
        seed(argv[1], "replay", json_pack("[O, O, O]", key, m1, again));
        seed(argv[1], "spoofed-sender", json_pack("[O, O]", key, spoof));
        seed(argv[1], "message-without-key", json_pack("[O]", m1));
        seed(argv[1], "room-key-twice", json_pack("[O, O, O]", key, key, m2));
        return 0;
}
