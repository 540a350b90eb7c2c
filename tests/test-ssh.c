/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <libssh2.h>

#include "base64.h"
#include "ssh.h"
#include "ssh-io.h"
#include "tests.h"

/* A real ed25519 host key: the line of its .pub file, its wire-format blob, and the SHA256
 * digest of that blob, whose fingerprint ssh-keygen -l prints as below. */
#define KEY_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIItr/+WkQ763jBAavJMCbRXbxmMcJte3jewydznBx+dy"
static const char key_line[] = "ssh-ed25519 " KEY_B64;
static const uint8_t key_blob[] = {
        0x00, 0x00, 0x00, 0x0b, 0x73, 0x73, 0x68, 0x2d, 0x65, 0x64, 0x32, 0x35, 0x35, 0x31, 0x39,
        0x00, 0x00, 0x00, 0x20, 0x8b, 0x6b, 0xff, 0xe5, 0xa4, 0x43, 0xbe, 0xb7, 0x8c, 0x10, 0x1a,
        0xbc, 0x93, 0x02, 0x6d, 0x15, 0xdb, 0xc6, 0x63, 0x1c, 0x26, 0xd7, 0xb7, 0x8d, 0xec, 0x32,
        0x77, 0x39, 0xc1, 0xc7, 0xe7, 0x72,
};
static const uint8_t key_sha256[32] = {
        0x19, 0x1b, 0x45, 0x58, 0xe4, 0x6a, 0xb1, 0xda, 0x55, 0xf4, 0x80, 0xca, 0x9d, 0xe3, 0xe5, 0x6d,
        0x0f, 0xcc, 0x7b, 0x4b, 0xf5, 0x52, 0x18, 0xdb, 0xc8, 0x7b, 0xf8, 0xa4, 0x3d, 0x94, 0x48, 0x4e,
};

TEST(base64) {
        static const struct {
                const char *text;
                int r;
                const char *data;
        } cases[] = {
                { "Zm9vYmFy", 0, "foobar" },     { "Zm9vYg==", 0, "foob" },
                { "Zm9vYmE=", 0, "fooba" },      { "", -EINVAL, NULL },
                { "Zm9", -EINVAL, NULL },        { "Zm9vYmE", -EINVAL, NULL },
                { "Zm9v YmFy", -EINVAL, NULL },  { "Zm9vYm=y", -EINVAL, NULL },
                { "Zm9vY===", -EINVAL, NULL },   { "Zm9vYh==", -EINVAL, NULL },
                { "Zm9vYmF=", -EINVAL, NULL },   { "Zm9v\nYmFy", -EINVAL, NULL },
                { "Zm9vYmFy!", -EINVAL, NULL },  { "====", -EINVAL, NULL },
        };
        _cleanup_free_ char *s = NULL;

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;

                ASSERT_EQ(base64_decode(cases[i].text, &data, &size), cases[i].r);
                if (cases[i].r < 0) {
                        ASSERT_TRUE(!data);
                        continue;
                }
                ASSERT_EQ(size, strlen(cases[i].data));
                ASSERT_TRUE(memcmp(data, cases[i].data, size) == 0);
        }

        s = base64_encode_unpadded((const uint8_t *) "foob", 4);
        ASSERT_STREQ(s, "Zm9vYg");
        s = mfree(s);
        s = base64_encode_unpadded((const uint8_t *) "", 0);
        ASSERT_STREQ(s, "");
}

TEST(host_key_matches_its_blob) {
        static const struct {
                int type;
                const char *name;
        } types[] = {
                { LIBSSH2_HOSTKEY_TYPE_ED25519, "ssh-ed25519" },
                { LIBSSH2_HOSTKEY_TYPE_ECDSA_256, "ecdsa-sha2-nistp256" },
                { LIBSSH2_HOSTKEY_TYPE_UNKNOWN, NULL },
                { 99, NULL },
        };

        FOREACH_ROW(i, types, "%d", types[i].type)
                ASSERT_STREQ(ssh_host_key_type_to_string(types[i].type), types[i].name);

        ASSERT_EQ(ssh_host_key_check(key_line, "ssh-ed25519", key_blob, sizeof(key_blob)), 0);
}

TEST(host_key_mismatches) {
        /* One bit of the key, one byte less, no key, another type name. */
        static const struct {
                const char *line, *type;
                bool blob, flip;
                size_t size;
        } cases[] = {
                { key_line, "ssh-ed25519", true, true, sizeof(key_blob) },
                { key_line, "ssh-ed25519", true, false, sizeof(key_blob) - 1 },
                { key_line, "ecdsa-sha2-nistp256", true, false, sizeof(key_blob) },
                { key_line, "ssh-ed2551", true, false, sizeof(key_blob) },
                { key_line, NULL, true, false, sizeof(key_blob) },
                { key_line, "ssh-ed25519", false, false, 0 },
                { "ssh-rsa " KEY_B64, "ssh-ed25519", true, false, sizeof(key_blob) },
        };

        FOREACH_ROW(i, cases, "\"%s\" %s, %s%zu bytes", cases[i].line, cases[i].type ?: "(null)",
                    cases[i].flip ? "one bit flipped, " : "", cases[i].size) {
                uint8_t blob[sizeof(key_blob)];

                memcpy(blob, key_blob, sizeof(key_blob));
                if (cases[i].flip)
                        blob[sizeof(blob) - 1] ^= 1;
                ASSERT_EQ(ssh_host_key_check(cases[i].line, cases[i].type, cases[i].blob ? blob : NULL,
                                             cases[i].size),
                          -EKEYREJECTED);
        }
}

TEST(host_key_configured_wrong) {
        static const char *const bad[] = {
                "", "ssh-ed25519", "ssh-ed25519 ", " AAAAC3NzaC1lZDI1NTE5",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIItr/+WkQ763jBAavJMCbRXbxmMcJte3jewydznBx+d",
                "ssh-ed25519 " KEY_B64 " comment", NULL,
        };

        FOREACH_ROW(i, bad, "\"%s\"", bad[i] ?: "(null)")
                ASSERT_EQ(ssh_host_key_check(bad[i], "ssh-ed25519", key_blob, sizeof(key_blob)), -EINVAL);
}

TEST(host_key_fingerprint) {
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(ssh_host_key_fingerprint("ssh-ed25519", key_sha256, &s));
        ASSERT_STREQ(s, "ssh-ed25519 SHA256:GRtFWORqsdpV9IDKnePlbQ/Me0v1UhjbyHv4pD2USE4");
}

TEST(sizes_like_du_h) {
        /* The right column is what GNU du -h --apparent-size printed for files of that size, with a
         * B added below 1 KiB. */
        static const struct {
                uint64_t bytes;
                const char *shown;
        } cases[] = {
                { 0, "0B" },
                { 1, "1B" },
                { 512, "512B" },
                { 1023, "1023B" },
                { 1024, "1.0K" },
                { 1025, "1.1K" },
                { 1536, "1.5K" },
                { 4096, "4.0K" },
                { 4097, "4.1K" },
                { 10188, "10K" },
                { 10239, "10K" },
                { 10240, "10K" },
                { 10241, "11K" },
                { 102400, "100K" },
                { 104857, "103K" },
                { 1047552, "1023K" },
                { 1047553, "1.0M" },
                { 1048575, "1.0M" },
                { 1048576, "1.0M" },
                { 1048577, "1.1M" },
                { 6335076761, "5.9G" },
                { 10737418240, "10G" },
                { 12884901888, "12G" },
                { 1099511627776, "1.0T" },
                { 1125899906842624, "1.0P" },
                { UINT64_MAX, "16E" },
        };

        FOREACH_ROW(i, cases, "%" PRIu64, cases[i].bytes) {
                char buf[SSH_SIZE_MAX];
                ASSERT_STREQ(ssh_format_size(cases[i].bytes, buf), cases[i].shown);
        }
}

TEST(df_lines) {
        static const struct {
                const char *line;
                int r;
                unsigned percent;
        } cases[] = {
                { "/dev/sda1 102687672 62193220 35235268 64% /", 0, 64 },
                { "overlay\t1000 0 1000 0% /", 0, 0 },
                { "my disk 1000 1000 0 100% /", 0, 100 },
                { "", -EBADMSG, 0 },
                { "   ", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 64%", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 64% /home", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 101% /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 -1% /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 64 /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 % /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 - /", -EBADMSG, 0 },
                { "/dev/sda1 1 -1 1 64% /", -EBADMSG, 0 },
                { "/dev/sda1 1 x 1 64% /", -EBADMSG, 0 },
                { "/dev/sda1 99999999999999999999999 1 1 64% /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 064% /", -EBADMSG, 0 },
                { "/dev/sda1 1 1 1 4294967360% /", -EBADMSG, 0 },
                { "a b c d e f g h i j k l m n o p q 1 1 1 64% /", -EBADMSG, 0 },
        };
        unsigned p = 99;

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].line) {
                const char *why = NULL;

                ASSERT_EQ(ssh_parse_df_line(cases[i].line, &p, &why), cases[i].r);
                if (cases[i].r == 0)
                        ASSERT_EQ(p, cases[i].percent);
                else
                        ASSERT_TRUE(why);
        }
}

TEST(du_lines) {
        static const struct {
                const char *line;
                int r;
                uint64_t size;
        } cases[] = {
                { "0\t/x", 0, 0 },
                { "missing\t/x", 0, SSH_DU_MISSING },
                { "18446744073709551614\t/x", 0, 18446744073709551614ULL },
                { "", -EBADMSG, 0 },
                { "\t/x", -EBADMSG, 0 },
                { "12 /x", -EBADMSG, 0 },
                { "12\t/y", -EBADMSG, 0 },
                { "12\t/x ", -EBADMSG, 0 },
                { "12\t/x/", -EBADMSG, 0 },
                { " 12\t/x", -EBADMSG, 0 },
                { "+12\t/x", -EBADMSG, 0 },
                { "-12\t/x", -EBADMSG, 0 },
                { "0x12\t/x", -EBADMSG, 0 },
                { "1.5\t/x", -EBADMSG, 0 },
                { "12K\t/x", -EBADMSG, 0 },
                { "012\t/x", -EBADMSG, 0 },
                { "18446744073709551615\t/x", -EBADMSG, 0 },
                { "18446744073709551616\t/x", -EBADMSG, 0 },
                { "99999999999999999999999999\t/x", -EBADMSG, 0 },
                { "Missing\t/x", -EBADMSG, 0 },
                { "missing /x", -EBADMSG, 0 },
                { "missing\t/y", -EBADMSG, 0 },
                { "12\t/x\t/x", -EBADMSG, 0 },
        };
        const char *why_long = NULL;
        uint64_t size = 0;

        ASSERT_OK(ssh_parse_du_line("6335076761\t/matrix/postgres/data", "/matrix/postgres/data", &size,
                                    &why_long));
        ASSERT_EQ(size, 6335076761);
        FOREACH_ROW(i, cases, "\"%s\"", cases[i].line) {
                const char *why = NULL;

                ASSERT_EQ(ssh_parse_du_line(cases[i].line, "/x", &size, &why), cases[i].r);
                if (cases[i].r == 0)
                        ASSERT_TRUE(size == cases[i].size);
                else
                        ASSERT_TRUE(why);
        }
}

static char *paths[] = { "Database", "/matrix/postgres/data", "Backups", "/matrix/postgres-backup", NULL };
#define DF "Filesystem     1024-blocks     Used Available Capacity Mounted on\n" \
           "/dev/vda1        102687672 62193220  35235268      64% /\n"

TEST(disk_output) {
        _cleanup_free_ uint64_t *sizes = NULL;
        _cleanup_free_ char *error = NULL;
        unsigned percent = 0;

        ASSERT_OK(ssh_parse_disk(DF "6335076761\t/matrix/postgres/data\nmissing\t/matrix/postgres-backup\n",
                                 paths, &percent, &sizes, &error));
        ASSERT_EQ(percent, 64);
        ASSERT_EQ(sizes[0], 6335076761);
        ASSERT_TRUE(sizes[1] == SSH_DU_MISSING);
        ASSERT_TRUE(!error);
}

TEST(disk_output_hostile) {
        static const struct {
                const char *text, *expected;
        } cases[] = {
                { "", "line 1 (df -P /): no output at all" },
                { "\n\n\n", "line 1 (df -P /): not the header of df" },
                { "garbage\n", "line 1 (df -P /): not the header of df" },
                { "Filesystem x\n", "line 2 (df -P /): missing" },
                { "Filesystem x\n/dev/vda1 1 2 3 4%\n", "line 2 (df -P /): too few columns" },
                { DF, "line 3 (/matrix/postgres/data): missing" },
                { DF "1\t/matrix/postgres/data\n", "line 4 (/matrix/postgres-backup): missing" },
                { DF "1\t/matrix/postgres-backup\n2\t/matrix/postgres/data\n",
                  "line 3 (/matrix/postgres/data): not the path that was asked for" },
                { DF "-1\t/matrix/postgres/data\n",
                  "line 3 (/matrix/postgres/data): the size is not a number" },
                { DF "999999999999999999999\t/matrix/postgres/data\n", "the size is out of range" },
                { DF "1\t/matrix/postgres/data\n2\t/matrix/postgres-backup\nrm -rf /\n",
                  "line 5 (end): more lines than asked for" },
                { DF "1\t/matrix/postgres/data\n2\t/matrix/postgres-backup",
                  "line 4 (end): the output was cut off" },
                { DF "1\t/matrix/postgres/data\n\n2\t/matrix/postgres-backup\n",
                  "line 4 (/matrix/postgres-backup): no size and path separated by a tab" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ uint64_t *sizes = NULL;
                _cleanup_free_ char *error = NULL;
                unsigned percent = 0;

                ASSERT_EQ(ssh_parse_disk(cases[i].text, paths, &percent, &sizes, &error), -EBADMSG);
                ASSERT_CONTAINS(error, cases[i].expected);
                ASSERT_TRUE(!sizes);
        }
}

TEST(disk_output_huge) {
        size_t n = 4 * 1024 * 1024;
        _cleanup_free_ char *text = malloc(n + 1);
        _cleanup_free_ uint64_t *sizes = NULL;
        _cleanup_free_ char *error = NULL;
        unsigned percent;

        ASSERT_TRUE(text);
        memset(text, '9', n);
        text[n] = 0;
        ASSERT_EQ(ssh_parse_disk(text, paths, &percent, &sizes, &error), -EBADMSG);
        ASSERT_CONTAINS(error, "not the header of df");
        memcpy(text, DF, strlen(DF));
        error = mfree(error);
        ASSERT_EQ(ssh_parse_disk(text, paths, &percent, &sizes, &error), -EBADMSG);
        ASSERT_CONTAINS(error, "line 3 (/matrix/postgres/data): no size and path");
}

TEST(unit_state) {
        _cleanup_free_ char *error = NULL;
        UnitState st;

        ASSERT_OK(ssh_parse_unit_state("ActiveState=active\nSubState=running\n"
                                       "ActiveEnterTimestamp=Thu 2024-05-02 10:00:00 UTC\n", &st, &error));
        ASSERT_STREQ(st.active, "active");
        ASSERT_STREQ(st.sub, "running");
        ASSERT_STREQ(st.since, "Thu 2024-05-02 10:00:00 UTC");
        /* In the unit's order, whatever the order of -p; never active: an empty timestamp. */
        ASSERT_OK(ssh_parse_unit_state("ActiveEnterTimestamp=\nActiveState=inactive\nSubState=dead\n", &st,
                                       &error));
        ASSERT_STREQ(st.active, "inactive");
        ASSERT_STREQ(st.since, "");
}

TEST(unit_state_hostile) {
        static const char *const bad[] = {
                "",
                "ActiveState=active\nSubState=running\n",
                "ActiveState=active\nSubState=running\nActiveEnterTimestamp=x\nActiveState=failed\n",
                "ActiveState=active\nSubState=running\nActiveEnterTimestamp=x\nMainPID=1\n",
                "ActiveState=Active\nSubState=running\nActiveEnterTimestamp=x\n",
                "ActiveState=\nSubState=running\nActiveEnterTimestamp=x\n",
                "ActiveState=active now\nSubState=running\nActiveEnterTimestamp=x\n",
                "ActiveState=active\nSubState=running\nActiveEnterTimestamp=`reboot`\n",
                "ActiveState=active\nSubState=running\nActiveEnterTimestamp=a\tb\n",
                ("ActiveState=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                 "SubState=running\nActiveEnterTimestamp=x\n"),
                "active\nrunning\nx\n",
        };

        FOREACH_ROW(i, bad, "\"%s\"", bad[i]) {
                _cleanup_free_ char *error = NULL;
                UnitState st;

                ASSERT_EQ(ssh_parse_unit_state(bad[i], &st, &error), -EBADMSG);
                ASSERT_TRUE(error);
        }
}

TEST(last_lines) {
        static const struct {
                const char *text;
                unsigned lines, width;
                const char *expected;
        } cases[] = {
                { "Failed to restart matrix-foo.service: Unit matrix-foo.service not found.\n", 3, 300,
                  "Failed to restart matrix-foo.service: Unit matrix-foo.service not found." },
                { "one\ntwo\n\nthree\nfour\n\n", 3, 300, "two; three; four" },
                { "", 3, 300, "" },
                { "tab\there `code`\r\n", 3, 300, "tab here 'code' " },
                { "0123456789abcdef\n", 1, 8, "…bcdef" },
                { "Job for x.service failed.\nSee \"systemctl status x.service\".\n", 3, 300,
                  "Job for x.service failed. See \"systemctl status x.service\"." },
        };

        FOREACH_ROW(i, cases, "\"%s\" %u %u", cases[i].text, cases[i].lines, cases[i].width) {
                _cleanup_free_ char *s = ssh_last_lines(cases[i].text, cases[i].lines, cases[i].width);

                ASSERT_STREQ(s, cases[i].expected);
        }
}

/* ssh_run() against loopback sockets that are not sshd: every way of failing is bounded. */
static Customer customer(unsigned port) {
        return (Customer) {
                .name = (char *) "acme",
                .ssh_host = (char *) "127.0.0.1",
                .ssh_port = port,
                .ssh_user = (char *) "root",
                .ssh_key_file = (char *) "/nonexistent",
                .ssh_known_host_key = (char *) key_line,
        };
}

static int listen_loopback(unsigned *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                abort();
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

TEST(ssh_connection_refused) {
        _cleanup_free_ char *error = NULL, *expected = NULL;
        SshResult res = {};
        unsigned port;
        Customer cu;

        /* A port that was just free: nothing listens there now. */
        close(listen_loopback(&port));
        cu = customer(port);
        ASSERT_EQ(ssh_run(&cu, "true", 5, &res, &error), -ECONNREFUSED);
        ASSERT_TRUE(asprintf(&expected, "cannot connect to 127.0.0.1:%u: connection refused (is the server "
                             "up and sshd running?)", port) > 0);
        ASSERT_STREQ(error, expected);
        ASSERT_TRUE(!res.out);
}

TEST(ssh_silent_server_times_out) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int fd = -EBADF;
        SshResult res = {};
        unsigned port;
        usec_t start;
        Customer cu;

        /* The kernel accepts the connection; nobody ever says a word. */
        fd = listen_loopback(&port);
        cu = customer(port);
        start = now_usec(CLOCK_MONOTONIC);
        ASSERT_EQ(ssh_run(&cu, "true", 1, &res, &error), -ETIMEDOUT);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - start < 3 * USEC_PER_SEC);
        ASSERT_CONTAINS(error, "did not complete the SSH handshake within 1 s");
}

TEST(ssh_not_an_ssh_server) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int fd = -EBADF, conn = -EBADF;
        SshResult res = {};
        unsigned port;
        Customer cu;
        pid_t pid;

        fd = listen_loopback(&port);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                static const char answer[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
                conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (conn < 0 || write(conn, answer, strlen(answer)) < 0)
                        _exit(1);
                _exit(0);
        }
        cu = customer(port);
        ASSERT_EQ(ssh_run(&cu, "true", 5, &res, &error), -EPROTO);
        ASSERT_CONTAINS(error, "the SSH handshake with 127.0.0.1:");
        ASSERT_CONTAINS(error, "(is it an SSH server?)");
        (void) waitpid(pid, NULL, 0);
}

TEST(ssh_refuses_bad_input) {
        _cleanup_free_ char *error = NULL;
        Customer cu = customer(22);
        SshResult res = {};

        ASSERT_EQ(ssh_run(&cu, "true\nreboot", 5, &res, &error), -EINVAL);
        ASSERT_TRUE(error);
        error = mfree(error);
        ASSERT_EQ(ssh_run(&cu, "true", 0, &res, &error), -EINVAL);
        error = mfree(error);
        cu.ssh_known_host_key = NULL;
        ASSERT_EQ(ssh_run(&cu, "true", 5, &res, &error), -EINVAL);
}
