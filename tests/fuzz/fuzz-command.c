/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The chat grammar: any message a customer (or anyone in the room) sends. */

#include "command.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size), *error = NULL, *task = NULL;
        Command c = {};

        if (!text)
                return 0;
        if (command_parse(text, &c, &error) < 0)
                return 0;
        (void) mode_to_string(c.mode);
        if (c.mode != MODE_HELP && c.mode != MODE_LIST && c.mode != MODE_BRANCH)
                task = command_task_string(&c);
        return 0;
}
