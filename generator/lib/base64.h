/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Strict RFC 4648 base64 with padding; -EINVAL on anything else. */
int base64_decode(const char *s, uint8_t **ret, size_t *ret_size);
/* Without padding, the way OpenSSH prints fingerprints. */
char *base64_encode_unpadded(const uint8_t *data, size_t size);
