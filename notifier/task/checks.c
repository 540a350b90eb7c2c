/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "checks.h"
#include "ssh.h"
#include "util.h"

int checks_add(CheckList *l, bool ok, const char *anchor, const char *key, const char *format, ...) {
        size_t i;
        va_list ap;
        char *text;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = checks_slot(l, anchor, key, &i);
        if (r < 0) {
                free(text);
                return r;
        }
        l->items[i].ok = ok;
        l->items[i].text = text;
        return 0;
}

int checks_slot(CheckList *l, const char *anchor, const char *key, size_t *ret) {
        Check *n = reallocarray(l->items, l->n + 1, sizeof(Check));

        if (!n)
                return -ENOMEM;
        l->items = n;
        n[l->n] = (Check){ .anchor = anchor, .key = strdup(key) };
        if (!n[l->n].key)
                return -ENOMEM;
        *ret = l->n++;
        return 0;
}

void checks_set(CheckList *l, size_t i, bool ok, const char *format, ...) {
        va_list ap;
        char *text;

        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);
        free(l->items[i].text);
        l->items[i].text = text;
        l->items[i].ok = ok;
}

int checks_append(CheckList *to, CheckList *from) {
        Check *n = reallocarray(to->items, to->n + from->n, sizeof(Check));

        if (!n)
                return -ENOMEM;
        to->items = n;
        memcpy(n + to->n, from->items, from->n * sizeof(Check));
        to->n += from->n;
        free(from->items);
        *from = (CheckList){};
        return 0;
}

void checks_done(CheckList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].key);
                free(l->items[i].text);
        }
        free(l->items);
        *l = (CheckList){};
}

size_t checks_failed(const CheckList *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++)
                n += !l->items[i].ok;
        return n;
}

int checks_line(const Check *c, const char *help_url, char **ret) {
        bool link = !c->ok && !isempty(help_url) && c->anchor;

        if (!link)
                return asprintf(ret, "%s %s", c->ok ? "🟩" : "🟥", c->text) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "🟥 %s (help: %s#%s)", c->text, help_url, c->anchor) < 0 ? -ENOMEM : 0;
}

void checks_write(FILE *f, const CheckList *l, const char *help_url) {
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < l->n; i++) {
                        const Check *c = &l->items[i];
                        _cleanup_free_ char *line = NULL;

                        /* A slot never filled (out of memory) says nothing rather than something false. */
                        if (c->ok != (pass == 1) || !c->text || checks_line(c, help_url, &line) < 0)
                                continue;
                        fprintf(f, "* %s\n", line);
                }
}

/* "cpu  10 0 5 100 2 0 0 0 0 0": busy and total jiffies. */
static int parse_cpu(const char *line, uint64_t *ret_busy, uint64_t *ret_total) {
        uint64_t v[10] = {}, total = 0;
        const char *p;
        size_t n = 0;

        p = startswith(line, "cpu ");
        if (!p)
                return -EBADMSG;
        while (*p && n < ELEMENTSOF(v)) {
                char *end;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p))
                        return -EBADMSG;
                errno = 0;
                v[n] = strtoull(p, &end, 10);
                if (errno > 0 || v[n] > UINT64_MAX / 16)
                        return -EBADMSG;
                total += v[n++];
                p = end;
        }
        if (n < 4)
                return -EBADMSG;
        /* idle and iowait are not busy; guest time is already in user. */
        *ret_total = total - (n > 8 ? v[8] : 0) - (n > 9 ? v[9] : 0);
        *ret_busy = *ret_total - v[3] - (n > 4 ? v[4] : 0);
        return 0;
}

static int parse_kb(const char *line, const char *key, uint64_t *ret) {
        const char *p = startswith(line, key);
        char *end;

        if (!p)
                return -EBADMSG;
        while (*p == ' ')
                p++;
        if (!isdigit((unsigned char) *p))
                return -EBADMSG;
        errno = 0;
        *ret = strtoull(p, &end, 10);
        return errno > 0 || !streq(end, " kB") ? -EBADMSG : 0;
}

int resources_parse(const char *text, Resources *ret, const char **ret_why) {
        _cleanup_free_ char *copy = strdup(text);
        char *lines[7] = {}, *state = NULL;
        uint64_t b1, t1, b2, t2, total, avail;
        size_t n = 0;
        unsigned disk;

        *ret_why = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *l = strtok_r(copy, "\n", &state); l && n < ELEMENTSOF(lines);
             l = strtok_r(NULL, "\n", &state))
                lines[n++] = l;
        if (n != 6)
                return *ret_why = "expected six lines", -EBADMSG;
        if (parse_cpu(lines[0], &b1, &t1) < 0 || parse_cpu(lines[1], &b2, &t2) < 0 || t2 < t1 || b2 < b1)
                return *ret_why = "the CPU counters of /proc/stat", -EBADMSG;
        if (parse_kb(lines[2], "MemTotal:", &total) < 0 || parse_kb(lines[3], "MemAvailable:", &avail) < 0 ||
            total == 0 || avail > total)
                return *ret_why = "the memory figures of /proc/meminfo", -EBADMSG;
        if (!startswith(lines[4], "Filesystem") || ssh_parse_df_line(lines[5], &disk, ret_why) < 0)
                return *ret_why = *ret_why ?: "the df line", -EBADMSG;
        ret->cpu = t2 == t1 ? 0 : (unsigned) ((b2 - b1) * 100 / (t2 - t1));
        ret->ram = (unsigned) ((total - avail) * 100 / total);
        ret->disk = disk;
        return 0;
}
