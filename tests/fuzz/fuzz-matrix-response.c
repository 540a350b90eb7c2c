/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Any answer body from the homeserver, as every request's callback gets it. */

#include "fuzz.h"
#include "matrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        MatrixResponse resp;

        matrix_response_parse(429, (const char *) data, size, &resp);
        (void) matrix_response_retryable(&resp);
        json_decref(resp.json);
        return 0;
}
