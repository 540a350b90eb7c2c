/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ftw.h>
#include <stdarg.h>

#include "tests.h"

typedef struct Test {
        const char *name;
        test_func_t func;
} Test;

static Test tests[256];
static size_t n_tests;
static bool current_failed;
static char *tmpdir;
static char row[256];

void tests_register(const char *name, test_func_t f) {
        if (n_tests >= ELEMENTSOF(tests))
                abort();
        tests[n_tests++] = (Test) { name, f };
}

void tests_row(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vsnprintf(row, sizeof(row), format, ap);
        va_end(ap);
}

void tests_row_done(void) {
        row[0] = 0;
}

/* The row's name as it may be printed: its inputs are often hostile text (escape sequences,
 * right-to-left overrides), which would act on the terminal that shows the failure. */
static void print_row(FILE *f) {
        for (const unsigned char *p = (const unsigned char *) row; *p; p++)
                if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p >= 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
}

void tests_fail(const char *file, int line, const char *format, ...) {
        va_list ap;

        current_failed = true;
        fprintf(stderr, "%s:%i: ", file, line);
        if (row[0]) {
                fputs("row ", stderr);
                print_row(stderr);
                fputs(": ", stderr);
        }
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

const char *tests_tmpdir(void) {
        if (!tmpdir) {
                if (asprintf(&tmpdir, "%s/scheduler-test-XXXXXX", getenv("TMPDIR") ?: "/tmp") < 0 ||
                    !mkdtemp(tmpdir))
                        abort();
        }
        return tmpdir;
}

const char *tests_write(const char *name, const char *text) {
        static char *paths[512];
        static size_t n;
        FILE *f;

        if (n >= ELEMENTSOF(paths) || asprintf(&paths[n], "%s/%s", tests_tmpdir(), name) < 0)
                abort();
        f = fopen(paths[n], "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                abort();
        return paths[n++];
}

const char *tests_data(const char *name) {
        static char path[4096];

        snprintf(path, sizeof(path), "%s/%s", TESTS_DATA_DIR, name);
        return path;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

int main(void) {
        size_t failed = 0;

        for (size_t i = 0; i < n_tests; i++) {
                current_failed = false;
                tests_row_done();
                tests[i].func();
                printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tests[i].name);
                failed += current_failed;
        }
        printf("%zu passed, %zu failed\n", n_tests - failed, failed);
        if (tmpdir)
                (void) nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
