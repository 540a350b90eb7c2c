/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What a customer's server prints over SSH, fed to every parser of it: df, du and our disk
 * command, systemctl show, the resources command, the last lines of a failure, and a host key
 * blob as the server sends it. */

#include "base64.h"
#include "checks.h"
#include "fuzz.h"
#include "ssh.h"

/* The sandbox's host key, as an operator configures it. */
#define HOST_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIItr/+WkQ763jBAavJMCbRXbxmMcJte3jewydznBx+dy"

static void disk(const char *text) {
        static char *const paths[] = { (char *) "data", (char *) "/matrix/postgres/data", (char *) "backup",
                                       (char *) "/matrix/postgres-backup", NULL };
        _cleanup_free_ uint64_t *sizes = NULL;
        _cleanup_free_ char *error = NULL;
        const char *why;
        unsigned percent;
        uint64_t bytes;

        (void) ssh_parse_disk(text, paths, &percent, &sizes, &error);
        (void) ssh_parse_df_line(text, &percent, &why);
        (void) ssh_parse_du_line(text, paths[1], &bytes, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size), *error = NULL, *last = NULL, *cut = NULL;
        _cleanup_free_ uint8_t *decoded = NULL;
        char buf[SSH_SIZE_MAX];
        size_t decoded_size;
        const char *why;
        Resources res;
        UnitState st;

        if (!text)
                return 0;
        disk(text);
        (void) ssh_parse_unit_state(text, &st, &error);
        (void) resources_parse(text, &res, &why);
        last = ssh_last_lines(text, 8, 4000);
        cut = ssh_last_lines(text, 3, 20);
        if (base64_decode(text, &decoded, &decoded_size) >= 0)
                (void) ssh_format_size(decoded_size, buf);
        (void) ssh_host_key_check(HOST_KEY, "ssh-ed25519", data, size);
        return 0;
}
