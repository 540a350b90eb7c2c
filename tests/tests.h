/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A small test harness: TEST(name) { … } registers a test; ASSERT_* report file, line and the
 * values on failure and end that test; main() runs them all and prints "N passed, N failed". */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

typedef void (*test_func_t)(void);
void tests_register(const char *name, test_func_t f);
void tests_fail(const char *file, int line, const char *format, ...) _printf_(3, 4);
/* A fresh directory under $TMPDIR, removed with everything in it when the run ends. */
const char *tests_tmpdir(void);
/* Writes text to a new file in tests_tmpdir() and returns its path (valid until exit). */
const char *tests_write(const char *name, const char *text);
const char *tests_data(const char *name);
/* Names the table row being checked: every failure until tests_row_done() (or the end of the test)
 * says which row it was. FOREACH_ROW() calls both. */
void tests_row(const char *format, ...) _printf_(1, 2);
void tests_row_done(void);

#define TEST(name)                                                                                          \
        static void test_##name(void);                                                                      \
        __attribute__((constructor)) static void register_##name(void) {                                    \
                tests_register(#name, test_##name);                                                         \
        }                                                                                                   \
        static void test_##name(void)

/* for (size_t i = 0; i < ELEMENTSOF(table); i++), each row named by its index and by format and its
 * arguments (which may use i), e.g. FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) { … } */
#define FOREACH_ROW(i, table, format, ...)                                                                  \
        for (size_t i = 0; i < ELEMENTSOF(table)                                                            \
                                   ? (tests_row("%s[%zu] " format, #table, i, ##__VA_ARGS__), true)         \
                                   : (tests_row_done(), false);                                             \
             i++)

/* In a table's expected return value: any error, where the case does not pin down which. */
#define ANY_ERROR INT_MIN

#define ASSERT_TRUE(expr)                                                                                   \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        tests_fail(__FILE__, __LINE__, "expected true: %s", #expr);                         \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                                     \
        do {                                                                                                \
                intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);                                          \
                if (_a != _b) {                                                                             \
                        tests_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, _a, _b);             \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                                  \
        do {                                                                                                \
                const char *_a = (a), *_b = (b);                                                            \
                if (!streq_ptr(_a, _b)) {                                                                   \
                        tests_fail(__FILE__, __LINE__, "%s == %s:\n  \"%s\"\n  \"%s\"", #a, #b,             \
                                   _a ?: "(null)", _b ?: "(null)");                                         \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

#define ASSERT_CONTAINS(haystack, needle)                                                                   \
        do {                                                                                                \
                const char *_h = (haystack), *_n = (needle);                                                \
                if (!_h || !strstr(_h, _n)) {                                                               \
                        tests_fail(__FILE__, __LINE__, "%s contains \"%s\":\n  \"%s\"", #haystack, _n,      \
                                   _h ?: "(null)");                                                         \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

/* expr returns expected, or with ANY_ERROR any negative value. */
#define ASSERT_RESULT(expr, expected)                                                                       \
        do {                                                                                                \
                int _r = (expr), _e = (expected);                                                           \
                if (_e == ANY_ERROR ? _r >= 0 : _r != _e) {                                                 \
                        if (_e == ANY_ERROR)                                                                \
                                tests_fail(__FILE__, __LINE__, "%s: %d, expected an error", #expr, _r);     \
                        else                                                                                \
                                tests_fail(__FILE__, __LINE__, "%s == %s: %d != %d", #expr, #expected, _r,  \
                                           _e);                                                             \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

#define ASSERT_OK(expr)                                                                                     \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                if (_r < 0) {                                                                               \
                        tests_fail(__FILE__, __LINE__, "%s failed: %s", #expr, strerror(-_r));              \
                        return;                                                                             \
                }                                                                                           \
        } while (0)
