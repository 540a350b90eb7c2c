/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <libssh2.h>

#include "base64.h"
#include "ssh.h"
#include "util.h"

const char *ssh_host_key_type_to_string(int type) {
        switch (type) {
        case LIBSSH2_HOSTKEY_TYPE_RSA:
                return "ssh-rsa";
        case LIBSSH2_HOSTKEY_TYPE_DSS:
                return "ssh-dss";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
                return "ecdsa-sha2-nistp256";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
                return "ecdsa-sha2-nistp384";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
                return "ecdsa-sha2-nistp521";
        case LIBSSH2_HOSTKEY_TYPE_ED25519:
                return "ssh-ed25519";
        default:
                return NULL;
        }
}

int ssh_host_key_check(const char *configured, const char *type, const void *blob, size_t size) {
        _cleanup_free_ uint8_t *key = NULL;
        const char *space;
        size_t key_size;
        int r;

        space = configured ? strchr(configured, ' ') : NULL;
        if (!space || space == configured)
                return -EINVAL;
        r = base64_decode(space + 1, &key, &key_size);
        if (r < 0)
                return r;
        if (!type || !blob || strlen(type) != (size_t) (space - configured) ||
            strncmp(configured, type, space - configured) != 0)
                return -EKEYREJECTED;
        if (key_size != size || memcmp(key, blob, size) != 0)
                return -EKEYREJECTED;
        return 0;
}

int ssh_host_key_fingerprint(const char *type, const uint8_t sha256[32], char **ret) {
        _cleanup_free_ char *b64 = NULL;

        b64 = base64_encode_unpadded(sha256, 32);
        if (!b64 || asprintf(ret, "%s SHA256:%s", strempty(type), b64) < 0)
                return -ENOMEM;
        return 0;
}

const char *ssh_format_size(uint64_t bytes, char buf[static SSH_SIZE_MAX]) {
        static const char units[] = "KMGTPE";
        uint64_t base = 1024, q, r, tenths;
        size_t u = 0;

        if (bytes < 1024) {
                snprintf(buf, SSH_SIZE_MAX, "%uB", (unsigned) bytes);
                return buf;
        }
        while (u + 1 < strlen(units) && bytes / base >= 1024) {
                base *= 1024;
                u++;
        }
        /* Rounded up like du -h; r * 10 cannot overflow, as base is at most 2^60. */
        q = bytes / base;
        r = bytes % base;
        tenths = q * 10 + (r * 10 + base - 1) / base;
        if (tenths < 100) {
                snprintf(buf, SSH_SIZE_MAX, "%u.%u%c", (unsigned) (tenths / 10), (unsigned) (tenths % 10),
                         units[u]);
                return buf;
        }
        q += r > 0;
        if (q >= 1024 && u + 1 < strlen(units)) {
                snprintf(buf, SSH_SIZE_MAX, "1.0%c", units[u + 1]);
                return buf;
        }
        snprintf(buf, SSH_SIZE_MAX, "%u%c", (unsigned) q, units[u]);
        return buf;
}

/* A decimal number that fits in 64 bits; no sign, blank or leading zero. */
static int parse_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || (len > 1 && s[0] == '0'))
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (v > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

/* Splits a line at blanks into at most max fields; returns how many, or -E2BIG for more. */
static int split_fields(const char *line, const char *fields[], size_t lengths[], size_t max) {
        size_t n = 0;

        for (const char *p = line; *p;) {
                size_t l;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (n == max)
                        return -E2BIG;
                l = strcspn(p, " \t");
                fields[n] = p;
                lengths[n++] = l;
                p += l;
        }
        return (int) n;
}

int ssh_parse_df_line(const char *line, unsigned *ret_percent, const char **ret_why) {
        const char *f[16];
        size_t l[16];
        uint64_t v;
        int n;

        /* Filesystem 1024-blocks Used Available Capacity Mounted-on; the file system's name may
         * hold blanks, so count from the end, where "/" has none. */
        n = split_fields(line, f, l, ELEMENTSOF(f));
        if (n < 6) {
                *ret_why = n < 0 ? "too many columns" : "too few columns";
                return -EBADMSG;
        }
        if (l[n - 1] != 1 || f[n - 1][0] != '/') {
                *ret_why = "the last column is not the mount point /";
                return -EBADMSG;
        }
        for (int i = n - 5; i < n - 2; i++)
                if (parse_u64(f[i], l[i], &v) < 0) {
                        *ret_why = "the sizes are not numbers";
                        return -EBADMSG;
                }
        if (l[n - 2] < 2 || f[n - 2][l[n - 2] - 1] != '%' || parse_u64(f[n - 2], l[n - 2] - 1, &v) < 0 ||
            v > 100) {
                *ret_why = "the capacity is not a percentage";
                return -EBADMSG;
        }
        *ret_percent = (unsigned) v;
        return 0;
}

int ssh_parse_du_line(const char *line, const char *path, uint64_t *ret_size, const char **ret_why) {
        const char *tab = strchr(line, '\t');
        int r;

        if (!tab) {
                *ret_why = "no size and path separated by a tab";
                return -EBADMSG;
        }
        if (!streq(tab + 1, path)) {
                *ret_why = "not the path that was asked for";
                return -EBADMSG;
        }
        if ((size_t) (tab - line) == strlen("missing") && startswith(line, "missing")) {
                *ret_size = SSH_DU_MISSING;
                return 0;
        }
        r = parse_u64(line, tab - line, ret_size);
        if (r == -EINVAL) {
                *ret_why = "the size is not a number";
                return -EBADMSG;
        }
        if (r < 0 || *ret_size == SSH_DU_MISSING) {
                *ret_why = "the size is out of range";
                return -EBADMSG;
        }
        return 0;
}

/* The next line of *p (without its newline), or NULL at the end; the text must end in one. */
static char *next_line(char **p, bool *ret_unterminated) {
        char *line = *p, *nl;

        if (!*line)
                return NULL;
        nl = strchr(line, '\n');
        if (!nl) {
                *ret_unterminated = true;
                *p = line + strlen(line);
                return line;
        }
        *nl = 0;
        *p = nl + 1;
        return line;
}

static int parse_fail(char **ret_error, size_t line, const char *what, const char *why) {
        if (asprintf(ret_error, "line %zu (%s): %s", line, what, why) < 0)
                return -ENOMEM;
        return -EBADMSG;
}

int ssh_parse_disk(const char *text, char * const *disk_paths, unsigned *ret_percent, uint64_t **ret_sizes,
                   char **ret_error) {
        size_t n_paths = strv_length(disk_paths) / 2, lineno = 2;
        _cleanup_free_ uint64_t *sizes = NULL;
        _cleanup_free_ char *copy = NULL;
        bool unterminated = false;
        const char *why;
        char *p, *line;
        unsigned percent;

        copy = strdup(text);
        sizes = calloc(n_paths + 1, sizeof(uint64_t));
        if (!copy || !sizes)
                return -ENOMEM;
        p = copy;
        line = next_line(&p, &unterminated);
        if (!line)
                return parse_fail(ret_error, 1, "df -P /", "no output at all");
        if (!startswith(line, "Filesystem "))
                return parse_fail(ret_error, 1, "df -P /", "not the header of df");
        line = next_line(&p, &unterminated);
        if (!line)
                return parse_fail(ret_error, 2, "df -P /", "missing");
        if (ssh_parse_df_line(line, &percent, &why) < 0)
                return parse_fail(ret_error, 2, "df -P /", why);

        for (size_t i = 0; i < n_paths; i++) {
                const char *path = disk_paths[2 * i + 1];

                lineno++;
                line = next_line(&p, &unterminated);
                if (!line)
                        return parse_fail(ret_error, lineno, path, "missing");
                if (ssh_parse_du_line(line, path, &sizes[i], &why) < 0)
                        return parse_fail(ret_error, lineno, path, why);
        }
        if (*p)
                return parse_fail(ret_error, lineno + 1, "end", "more lines than asked for");
        if (unterminated)
                return parse_fail(ret_error, lineno, "end", "the output was cut off");
        *ret_percent = percent;
        *ret_sizes = TAKE_PTR(sizes);
        return 0;
}

/* A systemd state word: lower-case letters and dashes, as ActiveState and SubState are. */
static bool state_word_valid(const char *s, size_t max) {
        size_t l = strlen(s);
        return l > 0 && l < max && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == l;
}

static bool timestamp_valid(const char *s, size_t max) {
        size_t l = strlen(s);

        if (l >= max)
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !isprint((unsigned char) *s) || *s == '`')
                        return false;
        return true;
}

static int unit_state_set(UnitState *st, unsigned *seen, const char *key, const char *value,
                          const char **ret_why) {
        static const char *const keys[] = { "ActiveState", "SubState", "ActiveEnterTimestamp" };
        char *fields[] = { st->active, st->sub, st->since };
        size_t sizes[] = { sizeof(st->active), sizeof(st->sub), sizeof(st->since) };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(key, keys[i]))
                        continue;
                if (*seen & 1u << i) {
                        *ret_why = "given twice";
                        return -EBADMSG;
                }
                if (i < 2 ? !state_word_valid(value, sizes[i]) : !timestamp_valid(value, sizes[i])) {
                        *ret_why = "not a value systemctl prints";
                        return -EBADMSG;
                }
                strcpy(fields[i], value);
                *seen |= 1u << i;
                return 0;
        }
        *ret_why = "not a property that was asked for";
        return -EBADMSG;
}

int ssh_parse_unit_state(const char *text, UnitState *ret, char **ret_error) {
        _cleanup_free_ char *copy = strdup(text);
        bool unterminated = false;
        UnitState st = {};
        unsigned seen = 0;
        size_t lineno = 0;
        const char *why;
        char *p = copy, *line;

        if (!copy)
                return -ENOMEM;
        for (line = next_line(&p, &unterminated); line; line = next_line(&p, &unterminated)) {
                char *eq = strchr(line, '=');

                lineno++;
                if (!eq)
                        return parse_fail(ret_error, lineno, "systemctl show", "not of the form Key=value");
                *eq = 0;
                if (unit_state_set(&st, &seen, line, eq + 1, &why) < 0)
                        return parse_fail(ret_error, lineno, line, why);
        }
        if (seen != 7)
                return parse_fail(ret_error, lineno + 1, "systemctl show", "a property is missing");
        *ret = st;
        return 0;
}

char *ssh_last_lines(const char *text, size_t n, size_t max) {
        const char *start = text + strlen(text), *end = start;
        _cleanup_free_ char *s = NULL;
        size_t found = 0, len = 0;

        /* Walk back over n non-empty lines. */
        while (found < n) {
                const char *e = start;

                while (e > text && e[-1] == '\n')
                        e--;
                if (e == text)
                        break;
                for (start = e; start > text && start[-1] != '\n'; start--)
                        ;
                found++;
        }
        /* Each "; " stands for at least one newline: one more byte per line at most. */
        s = malloc(end - start + found + strlen("…") + 1);
        if (!s)
                return NULL;
        for (const char *c = start; c < end; c++) {
                if (*c == '\n')
                        continue;
                if (len > 0 && c[-1] == '\n')
                        len += sprintf(s + len, strchr(".!?:;", s[len - 1]) ? " " : "; ");
                s[len++] = *c == '`' ? '\'' : (unsigned char) *c < ' ' || *c == 0x7f ? ' ' : *c;
        }
        s[len] = 0;
        max = max < strlen("…") ? strlen("…") : max;
        if (len > max) {
                size_t cut = len - max + strlen("…");

                /* At a character boundary, not inside a UTF-8 sequence. */
                while (cut < len && ((unsigned char) s[cut] & 0xc0) == 0x80)
                        cut++;
                memmove(s + strlen("…"), s + cut, len - cut + 1);
                memcpy(s, "…", strlen("…"));
        }
        return TAKE_PTR(s);
}
