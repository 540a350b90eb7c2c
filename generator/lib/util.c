/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

size_t strv_length(char * const *l) {
        size_t n = 0;

        for (; l && *l; l++)
                n++;
        return n;
}

int strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c)
                return -ENOMEM;
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *v;
        int r;

        v = strdup(value);
        if (!v)
                return -ENOMEM;
        r = strv_push(l, v);
        if (r < 0)
                free(v);
        return r;
}

bool strv_contains(char * const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

char *string_replace_controls(char *s, bool keep_newlines) {
        for (unsigned char *p = (unsigned char *) s; p && *p; p++) {
                if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
                        p[0] = p[1] = '?';
                        p++;
                } else if ((*p < 0x20 && *p != '\t' && !(keep_newlines && *p == '\n')) || *p == 0x7F)
                        *p = '?';
        }
        return s;
}

char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int strv_split_on(const char *s, const char *separators, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *state = NULL;
        int r;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, separators, &state); w; w = strtok_r(NULL, separators, &state)) {
                w = strstrip(w);
                if (isempty(w))
                        continue;
                r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int ini_fail(char **error, const char *section, const char *key, const char *format, ...) {
        _cleanup_free_ char *why = NULL;
        va_list ap;
        int r;

        if (*error)
                return 0;
        va_start(ap, format);
        r = vasprintf(&why, format, ap);
        va_end(ap);
        if (r < 0 || asprintf(error, "[%s] %s: %s", section, key, why) < 0)
                *error = NULL;
        return 0;
}

uint64_t hash_fnv1a(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        return h;
}

void str_index_done(StrIndex *x) {
        free(x->keys);
        free(x->values);
        *x = (StrIndex) {};
}

/* Where key is, or the empty slot where it would go. */
static size_t str_index_slot(const StrIndex *x, const char *key) {
        size_t i = hash_fnv1a(key) & (x->size - 1);

        while (x->keys[i] && !streq(x->keys[i], key))
                i = (i + 1) & (x->size - 1);
        return i;
}

size_t str_index_get(const StrIndex *x, const char *key) {
        size_t i;

        if (x->size == 0)
                return SIZE_MAX;
        i = str_index_slot(x, key);
        return x->keys[i] ? x->values[i] : SIZE_MAX;
}

static int str_index_grow(StrIndex *x) {
        StrIndex y = { .size = x->size ? x->size * 2 : 64 };

        y.keys = calloc(y.size, sizeof(char *));
        y.values = calloc(y.size, sizeof(size_t));
        if (!y.keys || !y.values) {
                str_index_done(&y);
                return -ENOMEM;
        }
        for (size_t i = 0; i < x->size; i++)
                if (x->keys[i]) {
                        size_t j = str_index_slot(&y, x->keys[i]);

                        y.keys[j] = x->keys[i];
                        y.values[j] = x->values[i];
                }
        y.n = x->n;
        str_index_done(x);
        *x = y;
        return 0;
}

int str_index_put(StrIndex *x, const char *key, size_t value) {
        size_t i;

        if ((x->n + 1) * 2 > x->size && str_index_grow(x) < 0)
                return -ENOMEM;
        i = str_index_slot(x, key);
        if (!x->keys[i]) {
                x->keys[i] = key;
                x->values[i] = value;
                x->n++;
        }
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno > 0)
                return -errno;
        if (*end)
                return -EINVAL;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* Grown as the file is read (its size at open, plus one to see the end), never max at once: a limit
 * of 64 MB for a file of some kilobytes would be a 64 MB allocation, and glibc's malloc keeps its
 * mmap threshold raised to the largest block freed, leaving later big buffers on the heap. */
static int read_stream(FILE *f, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size;
        struct stat st;

        size = fstat(fileno(f), &st) >= 0 && st.st_size > 0 ? (size_t) st.st_size + 1 : 4096;
        for (;;) {
                char *p;

                size = MIN(size, max + 1);
                p = realloc(buf, size + 1);
                if (!p)
                        return -ENOMEM;
                buf = p;
                n += fread(buf + n, 1, size - n, f);
                if (ferror(f))
                        return -EIO;
                if (n > max)
                        return -EFBIG;
                if (n < size)
                        break;
                size *= 2;
        }
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");

        return f ? read_stream(f, max, ret, ret_size) : -errno;
}

int read_regular_file(const char *path, size_t max, uid_t owner, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (owner != (uid_t) -1 && st.st_uid != owner && st.st_uid != 0)
                return -EPERM;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -EBADF;   /* the stream has it now */
        return read_stream(f, max, ret, ret_size);
}

int read_secret_file(const char *path, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = read_full_file(path, 4096, &s, &n);
        if (r < 0)
                return r;
        if (strlen(s) != n)
                return -EBADMSG;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = 0;
        if (n == 0 || strchr(s, '\n'))
                return -EBADMSG;
        *ret = TAKE_PTR(s);
        return 0;
}

int secret_file_check(const char *path, uid_t uid, struct stat *ret_st) {
        if (stat(path, ret_st) < 0)
                return -errno;
        return (ret_st->st_mode & 0077 ? SECRET_EXPOSED : 0) | (ret_st->st_uid != uid ? SECRET_FOREIGN : 0);
}

static int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -EBADF;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                return -EINVAL;
        *(slash == dir ? slash + 1 : slash) = 0;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

int write_all(int fd, const char *p, size_t size) {
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

int write_file_exclusive_at(int dir_fd, const char *name, const char *contents, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0)
                return -errno;
        r = write_all(fd, contents, size);
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, name, 0);
        return r;
}

int write_file_atomic(const char *path, const char *contents, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, contents, size);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return fsync_directory_of(path);
}

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}
