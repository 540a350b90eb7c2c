/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A /sync answer from the homeserver, loaded the way matrix_response_parse() loads it, and each
 * message it yields taken as the plaintext of a decrypted event (also the sender's to choose). */

#include "fuzz.h"
#include "matrix-sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_auto_t *root = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);

        if (!root || matrix_sync_parse(root, "@bot:test", &b) < 0)
                return 0;
        for (size_t i = 0; i < b->n_messages; i++)
                if (b->messages[i].encrypted)
                        (void) matrix_sync_message_decrypted(
                                &b->messages[i], json_object_get(b->messages[i].encrypted, "content"));
        return 0;
}
