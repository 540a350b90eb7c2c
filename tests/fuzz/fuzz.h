/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What every fuzz target shares: libFuzzer's entry point and two ways to hand its bytes to a
 * parser, as a string or as a file. */

#include <stddef.h>
#include <stdint.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a string; a NUL inside ends it early, as it would for the parser. */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        return strndup((const char *) data, size);
}

/* A directory under /tmp made once per process, removed when it exits. */
const char *fuzz_tmpdir(void);
/* Writes the input to fuzz_tmpdir()/name and returns that path (the same one every time). */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);
