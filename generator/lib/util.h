/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The few helpers every part of the project shares: cleanup attributes, string predicates. */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                                                                                         \
        ({                                                                                                  \
                __typeof__(p) _p_ = (p);                                                                    \
                (p) = NULL;                                                                                 \
                _p_;                                                                                        \
        })

/* The struct s, which is left zeroed: for values whose _done() a _cleanup_ runs. */
#define TAKE_STRUCT(s)                                                                                      \
        ({                                                                                                  \
                __typeof__(s) _s_ = (s);                                                                    \
                (s) = (__typeof__(s)) {};                                                                   \
                _s_;                                                                                        \
        })

#define TAKE_FD(fd)                                                                                         \
        ({                                                                                                  \
                int _fd_ = (fd);                                                                            \
                (fd) = -EBADF;                                                                              \
                _fd_;                                                                                       \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                             \
        static inline void func##p(type *p) {                                                               \
                if (*p)                                                                                     \
                        func(*p);                                                                           \
        }

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* A NULL-terminated list of strings, on the stack: STRV_MAKE("a", b). */
#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* Returns the rest of s after prefix, or NULL if s does not start with it. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

size_t strv_length(char * const *l);
int strv_push(char ***l, char *value);
int strv_extend(char ***l, const char *value);
bool strv_contains(char * const *l, const char *s);
/* Splits on any of separators, trims blanks around each item, drops empty items. */
int strv_split_on(const char *s, const char *separators, char ***ret);
static inline int strv_split_comma(const char *s, char ***ret) {
        return strv_split_on(s, ",", ret);
}

char *strstrip(char *s);
/* Text from outside made safe for the journal, a terminal and chat, in place: every control
 * character (C0, DEL, and C1 as UTF-8: a terminal may read 0xC2 0x9B as an escape) becomes '?',
 * but tab, and newlines where keep_newlines. Returns s. */
char *string_replace_controls(char *s, bool keep_newlines);
/* For inih handlers: keeps the first error of a parse as "[section] key: why" in *error and
 * returns 0, inih's "this line is wrong". */
int ini_fail(char **error, const char *section, const char *key, const char *format, ...) _printf_(4, 5);
/* FNV-1a: stable across restarts, builds and hosts, which is all our derived ids need. */
uint64_t hash_fnv1a(const char *s);
/* Strings, each with a number: a hash table, where a list would be searched from the start for each
 * of thousands of customers. The strings are the caller's and must outlive it. */
typedef struct StrIndex {
        const char **keys;
        size_t *values;
        size_t n, size;        /* size: 0, or a power of two over twice n */
} StrIndex;
void str_index_done(StrIndex *x);
/* key's number, or SIZE_MAX if it has none. */
size_t str_index_get(const StrIndex *x, const char *key);
/* Gives key the number value, if it has none yet (the first one stays). */
int str_index_put(StrIndex *x, const char *key, size_t value);
int safe_atou(const char *s, unsigned *ret);

/* Reads a whole small file; refuses files larger than max. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* The same for a file a less trusted user can put there: not through a symlink (-ELOOP), never
 * blocking (a FIFO), a regular file only (-EBADFD), owned by owner or root (-EPERM; owner
 * (uid_t) -1: anyone). */
int read_regular_file(const char *path, size_t max, uid_t owner, char **ret, size_t *ret_size);
/* Reads a one-line secret: trailing newline dropped, empty or multi-line refused. */
int read_secret_file(const char *path, char **ret);
/* What makes a file unfit to hold a secret of the user uid: group or others have access, another
 * owner. secret_file_check() returns those flags (0: fit), or -errno if it cannot be looked at. */
enum {
        SECRET_EXPOSED = 1 << 0,
        SECRET_FOREIGN = 1 << 1,
};
int secret_file_check(const char *path, uid_t uid, struct stat *ret_st);
/* Writes path atomically: temp file in the same dir, fsync, rename, fsync of the dir. */
int write_file_atomic(const char *path, const char *contents, size_t size, mode_t mode);
/* write() until all of it is written. */
int write_all(int fd, const char *p, size_t size);
/* Creates name in dir_fd, 0666 less the umask, never overwriting (-EEXIST); all of contents or,
 * should a write fail, no file. No fsync. */
int write_file_exclusive_at(int dir_fd, const char *name, const char *contents, size_t size);

/* CLOCK_REALTIME/MONOTONIC in microseconds. */
typedef unsigned long long usec_t;
#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
usec_t now_usec(clockid_t clock);
