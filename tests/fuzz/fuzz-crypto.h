/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The device the crypto target decrypts as, shared with the program that makes its seeds. */

#include <jansson.h>

#define FUZZ_CRYPTO_KEY "fuzz key"
#define FUZZ_CRYPTO_USER "@bot:test"
#define FUZZ_CRYPTO_DEVICE "BOT"
#define FUZZ_CRYPTO_ROOM "!room:test"

/* The store of our device, made once per process from a fixed random stream, so it is the same
 * device in every run (and seeds can be encrypted for it); its first /keys/upload body in
 * *ret_upload if asked (borrowed). */
const char *fuzz_crypto_store(json_t **ret_upload);
