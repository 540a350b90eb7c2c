/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Whatever a customer's web server answers to ping's requests, read by each check, and a server
 * name as a .well-known file or an SRV record gives it. */

#include "fuzz.h"
#include "ping-answers.h"

#define HOST "matrix.acme.test"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size), *delegated = NULL, *host = NULL;
        const char *body = (const char *) data;
        char *why[5] = {};
        unsigned port;

        (void) answer_client_versions(200, body, size, &why[0]);
        (void) answer_federation_version(200, body, size, &why[1]);
        (void) answer_wellknown_server(200, body, size, HOST, &delegated, &why[2]);
        (void) answer_wellknown_client(200, body, size, HOST, &why[3]);
        (void) answer_server_keys(200, body, size, "acme.test", 1700000000000, &why[4]);
        for (size_t i = 0; i < ELEMENTSOF(why); i++)
                free(why[i]);
        if (text)
                (void) server_name_split(text, &host, &port);
        return 0;
}
