/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The crypto layer's input: to-device events and room events (a JSON array of them, or one),
 * each given to crypto_to_device() and to crypto_room_decrypt(), against our device as its store
 * was made: every input starts from the same state, so a room key shared in an input is there for
 * that input's room messages only. Each event's sender is then seen in the room. An object
 * {"store": {...}, "events": [...]} also puts its store's sections (olm, inbound, devices, ...)
 * into the store before it is opened: the loader and its trimming read them as an older bot or a
 * flood may have left them. */

#include <sys/random.h>

#include "crypto.h"
#include "fuzz-crypto.h"
#include "fuzz.h"

/* libolm takes its randomness from us, and we from getrandom(): a fixed stream here makes the
 * same device every time, whose keys the seeds are encrypted for. For fuzzing only. */
ssize_t getrandom(void *buf, size_t n, unsigned flags) {
        static uint64_t x = 0x9E3779B97F4A7C15ULL;

        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((uint8_t *) buf)[i] = (uint8_t) (x >> 32);
        }
        return (ssize_t) n;
}

const char *fuzz_crypto_store(json_t **ret_upload) {
        static char path[4096];
        static json_t *upload;
        Crypto *c = NULL;

        if (!upload) {
                json_auto_t *encryption = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM);

                snprintf(path, sizeof(path), "%s/crypto.json", fuzz_tmpdir());
                if (crypto_create(path, FUZZ_CRYPTO_KEY, FUZZ_CRYPTO_USER, FUZZ_CRYPTO_DEVICE, &c) < 0 ||
                    crypto_upload_body(c, -1, false, &upload) < 0 || !upload)
                        abort();
                crypto_upload_done(c);
                /* Room keys are kept only for encrypted rooms we are in: the seeds' room is one. */
                if (crypto_room_set_encryption(c, FUZZ_CRYPTO_ROOM, encryption) < 0)
                        abort();
                if (crypto_save(c) < 0)
                        abort();
                crypto_free(c);
        }
        if (ret_upload)
                *ret_upload = upload;
        return path;
}

static void one_event(Crypto *c, json_t *event) {
        const char *room_id = json_string_value(json_object_get(event, "room_id")),
                   *sender = json_string_value(json_object_get(event, "sender"));
        _cleanup_free_ char *why = NULL, *why2 = NULL;
        json_auto_t *plain = NULL;

        (void) crypto_to_device(c, event, &why);
        (void) crypto_room_decrypt(c, room_id ?: FUZZ_CRYPTO_ROOM, event, &plain, &why2);
        if (sender)
                (void) crypto_room_member(c, room_id ?: FUZZ_CRYPTO_ROOM, sender, true);
}

/* The made store with sections of the input's: its path, or NULL if it cannot be written. */
static const char *store_with(const char *path, json_t *sections) {
        static const char *const own[] = { "version", "user_id", "device_id", "account" };
        json_auto_t *store = json_load_file(path, 0, NULL);
        _cleanup_free_ char *text = NULL;
        json_auto_t *merged = NULL;

        merged = json_deep_copy(sections);
        if (!store || !merged)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (json_object_set(merged, own[i], json_object_get(store, own[i])) < 0)
                        abort();
        text = json_dumps(merged, JSON_COMPACT);
        return text ? fuzz_file("fuzzed.json", (const uint8_t *) text, strlen(text)) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *path = fuzz_crypto_store(NULL);
        _cleanup_(crypto_freep) Crypto *c = NULL;
        json_auto_t *root = NULL;
        json_t *events, *e;
        size_t i;
        int r;

        root = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!root)
                return 0;
        events = root;
        if (json_is_object(json_object_get(root, "store"))) {
                path = store_with(path, json_object_get(root, "store"));
                events = json_object_get(root, "events");
        }
        if (!path)
                return 0;
        r = crypto_open(path, FUZZ_CRYPTO_KEY, FUZZ_CRYPTO_USER, FUZZ_CRYPTO_DEVICE, &c, NULL);
        /* The made store always opens; one with the input's sections may be refused, never crash. */
        if (r < 0 && events == root)
                abort();
        if (r < 0)
                return 0;
        if (!json_is_array(events) && events)
                one_event(c, events);
        json_array_foreach(events, i, e) one_event(c, e);
        return 0;
}
