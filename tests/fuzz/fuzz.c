/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

static char tmpdir[] = "/tmp/scheduler-fuzz-XXXXXX";

/* Everything in it is a plain file the targets wrote (the crypto store and its temp files too). */
static void tmpdir_remove(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;

        if (d) {
                while ((de = readdir(d)))
                        if (de->d_type == DT_REG)
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                closedir(d);
        }
        (void) rmdir(tmpdir);
}

const char *fuzz_tmpdir(void) {
        static bool made;

        if (!made) {
                if (!mkdtemp(tmpdir))
                        abort();
                atexit(tmpdir_remove);
                made = true;
        }
        return tmpdir;
}

const char *fuzz_file(const char *name, const uint8_t *data, size_t size) {
        static char path[4096];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                abort();
        return path;
}
