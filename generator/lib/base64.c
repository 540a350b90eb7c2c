/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Base64 (RFC 4648), strict: host keys in known_hosts, Matrix keys and signatures. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "util.h"

static const char base64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char c) {
        const char *p = c ? strchr(base64_chars, c) : NULL;
        return p ? (int) (p - base64_chars) : -1;
}

int base64_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        size_t len = strlen(s), pad = 0, size = 0;
        _cleanup_free_ uint8_t *out = NULL;
        uint32_t acc = 0;

        if (len == 0 || len % 4 != 0)
                return -EINVAL;
        while (pad < 2 && s[len - 1 - pad] == '=')
                pad++;
        out = malloc(len / 4 * 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len - pad; i++) {
                int v = base64_value(s[i]);
                if (v < 0)
                        return -EINVAL;
                acc = acc << 6 | (uint32_t) v;
                if (i % 4 == 3) {
                        out[size++] = acc >> 16;
                        out[size++] = acc >> 8 & 0xff;
                        out[size++] = acc & 0xff;
                        acc = 0;
                }
        }
        /* The bits a padded tail leaves over must be zero, or two strings would mean one key. */
        if (pad == 1) {
                if (acc & 0x3)
                        return -EINVAL;
                out[size++] = acc >> 10;
                out[size++] = acc >> 2 & 0xff;
        } else if (pad == 2) {
                if (acc & 0xf)
                        return -EINVAL;
                out[size++] = acc >> 4;
        }
        *ret = TAKE_PTR(out);
        *ret_size = size;
        return 0;
}

char *base64_encode_unpadded(const uint8_t *data, size_t size) {
        char *s = malloc(size / 3 * 4 + 4 + 1), *p = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t acc = (uint32_t) data[i] << 16;
                size_t n = size - i < 3 ? size - i : 3;

                if (n > 1)
                        acc |= (uint32_t) data[i + 1] << 8;
                if (n > 2)
                        acc |= data[i + 2];
                for (size_t k = 0; k < n + 1; k++)
                        *p++ = base64_chars[acc >> (18 - 6 * k) & 0x3f];
        }
        *p = 0;
        return s;
}
