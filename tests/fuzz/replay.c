/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput once on every file of
 * the directories (or the files) given, so any build replays the corpora as a test. */

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1024U * 1024U)


static int replay_file(const char *path) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, INPUT_MAX, &text, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        /* Exactly the input's bytes, as libFuzzer passes them: a sanitizer sees any read past them. */
        data = malloc(size);
        if (!data && size > 0)
                return -ENOMEM;
        if (size > 0)
                memcpy(data, text, size);
        (void) LLVMFuzzerTestOneInput(data, size);
        return 0;
}

static int replay(const char *path, unsigned *n) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        struct stat st;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n)++;
                return replay_file(path);
        }
        d = opendir(path);
        if (!d) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
                        return -ENOMEM;
                if (replay(p, n) < 0)
                        return -EIO;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s DIR|FILE…\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++)
                if (replay(argv[i], &n) < 0)
                        return 1;
        printf("%u inputs replayed\n", n);
        return n > 0 ? 0 : 1;
}
