/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What comes back from a customer's server, read strictly, and how it is shown. Everything that
 * arrives over SSH is untrusted: a line that is not exactly what df, du or systemctl print is an
 * error with a reason a person can read, never a guess and never a crash. Pure: no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SHA256 fingerprint ssh-keygen -l prints, "SHA256:" and 43 base64 characters. */
#define SSH_FINGERPRINT_MAX 64
/* "1023K", "9.9G", "16E": the longest is "1023B" plus the NUL. */
#define SSH_SIZE_MAX 8
/* A du line for a path that does not exist, as our command prints it. */
#define SSH_DU_MISSING UINT64_MAX

/* libssh2's LIBSSH2_HOSTKEY_TYPE_* as OpenSSH names it; NULL for types we do not know. */
const char *ssh_host_key_type_to_string(int type);
/* Compares a host key (its type name and raw blob, as the server sent it) with the configured
 * "ssh-ed25519 AAAA…" byte for byte. 0: the same; -EKEYREJECTED: another key or type; -EINVAL:
 * the configured string is not a key. */
int ssh_host_key_check(const char *configured, const char *type, const void *blob, size_t size);
/* "ssh-ed25519 SHA256:…" from the key's SHA256 digest. */
int ssh_host_key_fingerprint(const char *type, const uint8_t sha256[32], char **ret);

/* Bytes as du -h shows them, rounded up, with a B for bytes: 512B, 4.0K, 5.9G, 12G. */
const char *ssh_format_size(uint64_t bytes, char buf[static SSH_SIZE_MAX]);

/* The data line of "df -P /" (after its header): the Capacity column, 0–100. */
int ssh_parse_df_line(const char *line, unsigned *ret_percent, const char **ret_why);
/* One line of our disk command for path: "BYTES<TAB>PATH" from du -sb, or "missing<TAB>PATH"
 * (→ SSH_DU_MISSING). */
int ssh_parse_du_line(const char *line, const char *path, uint64_t *ret_size, const char **ret_why);
/* The whole output of the disk command: df -P / (header and one line), then one du line per
 * path of disk_paths (alternating label, path). *ret_sizes has one entry per path. On -EBADMSG
 * *ret_error says which line is wrong and why. */
int ssh_parse_disk(const char *text, char * const *disk_paths, unsigned *ret_percent, uint64_t **ret_sizes,
                   char **ret_error);

typedef struct UnitState {
        char active[32];        /* ActiveState: "active", "failed", … */
        char sub[32];           /* SubState: "running", "exited", … */
        char since[80];         /* ActiveEnterTimestamp as the server prints it; "" if never */
} UnitState;

/* The output of systemctl show -p ActiveState -p SubState -p ActiveEnterTimestamp UNIT. */
int ssh_parse_unit_state(const char *text, UnitState *ret, char **ret_error);

/* The last n non-empty lines of text on one line, joined with "; " (or a blank after a full
 * stop), each made printable (controls and backticks replaced), at most max bytes with "…" in
 * front when cut. "" for none. */
char *ssh_last_lines(const char *text, size_t n, size_t max);
