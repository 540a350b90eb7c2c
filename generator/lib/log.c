/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <fcntl.h>
#include <stdarg.h>

#include "log.h"

static int max_level = LOG_INFO;
static int kmsg_fd = -EBADF;
static const char *kmsg_ident = NULL;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_open_kmsg(const char *ident) {
        if (kmsg_fd < 0)
                kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        kmsg_ident = ident;
}

static bool stderr_is_journal(void) {
        static int cached = -1;

        if (cached < 0)
                cached = getenv("JOURNAL_STREAM") != NULL;
        return cached;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        char text[2048];
        int saved_errno = errno;
        va_list ap;

        error = error < 0 ? -error : error;
        if (level > max_level)
                return -error;

        /* %m prints the error we were given, not whatever errno happens to be. */
        errno = error;
        va_start(ap, format);
        (void) vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);

        if (kmsg_fd >= 0)
                (void) dprintf(kmsg_fd, "<%i>%s[%i]: %s\n", level, strempty(kmsg_ident), (int) getpid(),
                               text);
        else if (stderr_is_journal())
                fprintf(stderr, "<%i>%s\n", level, text);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s:%i: %s\n", file, line, text);
        else
                fprintf(stderr, "%s\n", text);

        errno = saved_errno;
        return -error;
}

void log_text(FILE *f, const char *text) {
        const char *prefix = stderr_is_journal() ? "<6>" : "";

        for (const char *p = text; p && *p;) {
                size_t n = strcspn(p, "\n");

                fprintf(f, "%s%.*s\n", prefix, (int) n, p);
                p += n + (p[n] == '\n');
        }
}
