/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>
#include <libssh2.h>

#include "log.h"
#include "ssh.h"
#include "ssh-io.h"
#include "util.h"

typedef struct Buffer {
        char *data;
        size_t size;
        bool truncated;
} Buffer;

typedef struct Ssh {
        const Customer *cu;
        char *where;            /* "HOST:PORT", for messages */
        unsigned timeout_sec;
        usec_t deadline;        /* CLOCK_MONOTONIC, for everything */
        bool timed_out;
        bool handshaken;
        int fd;
        LIBSSH2_SESSION *session;
        LIBSSH2_CHANNEL *channel;
        Buffer out, err;
        ssh_output_t on_output; /* streaming: output goes here, not into out and err */
        void *userdata;
        char *error;            /* the first failure, for the customer */
} Ssh;

static int ssh_fail(Ssh *s, int r, const char *format, ...) _printf_(3, 4);
static int ssh_fail(Ssh *s, int r, const char *format, ...) {
        va_list ap;

        if (!s->error) {
                va_start(ap, format);
                if (vasprintf(&s->error, format, ap) < 0)
                        s->error = NULL;
                va_end(ap);
        }
        return r;
}

/* libssh2's words for its last error, "" when it has none. */
static const char *ssh_last_error(Ssh *s) {
        char *msg = NULL;

        if (s->session)
                (void) libssh2_session_last_error(s->session, &msg, NULL, 0);
        return strempty(msg);
}

static int ssh_fail_timeout(Ssh *s) {
        return ssh_fail(s, -ETIMEDOUT, "the command timed out after %u s", s->timeout_sec);
}

/* Waits until p is ready or the deadline passed (-ETIMEDOUT). */
static int poll_until(struct pollfd *p, usec_t deadline) {
        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                unsigned long long ms;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                ms = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
                r = poll(p, 1, ms > INT_MAX ? INT_MAX : (int) ms);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Waits for the socket in the direction libssh2 is blocked on; -ETIMEDOUT at the deadline. */
static int ssh_wait(Ssh *s) {
        int dir = libssh2_session_block_directions(s->session), r;
        struct pollfd p = { .fd = s->fd };

        if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
                p.events |= POLLIN;
        if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
                p.events |= POLLOUT;
        if (p.events == 0)
                p.events = POLLIN;
        r = poll_until(&p, s->deadline);
        if (r == -ETIMEDOUT)
                s->timed_out = true;
        return r;
}

/* Calls a libssh2 function until it no longer asks to be called again; LIBSSH2_ERROR_TIMEOUT once the
 * deadline passed. */
#define SSH_AGAIN(s, call)                                                                                  \
        ({                                                                                                  \
                int _r = (call);                                                                            \
                while (_r == LIBSSH2_ERROR_EAGAIN && ssh_wait(s) >= 0)                                      \
                        _r = (call);                                                                        \
                _r == LIBSSH2_ERROR_EAGAIN ? LIBSSH2_ERROR_TIMEOUT : _r;                                    \
        })

static int connect_one(const struct addrinfo *ai, usec_t deadline, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        struct pollfd p;
        socklen_t len = sizeof(int);
        int error = 0, r;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                if (errno != EINPROGRESS)
                        return -errno;
                p = (struct pollfd) { .fd = fd, .events = POLLOUT };
                r = poll_until(&p, deadline);
                if (r < 0)
                        return r;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                        return -errno;
                if (error != 0)
                        return -error;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void freeaddrinfop(struct addrinfo **ai) {
        if (*ai)
                freeaddrinfo(*ai);
}

static int resolve_fail(Ssh *s, int gai) {
        const char *host = s->cu->ssh_host;

        if (gai == EAI_NONAME || gai == EAI_NODATA)
                return ssh_fail(s, -EADDRNOTAVAIL, "cannot resolve %s (is the host name right?)", host);
        if (gai == EAI_AGAIN)
                return ssh_fail(s, -EADDRNOTAVAIL, "cannot resolve %s: no answer from the name server "
                                "(is DNS working?)", host);
        if (gai == EAI_SYSTEM)
                return ssh_fail(s, -errno, "cannot resolve %s: %s", host, strerror(errno));
        return ssh_fail(s, -EADDRNOTAVAIL, "cannot resolve %s: %s", host, gai_strerror(gai));
}

static const char *connect_hint(int error) {
        switch (error) {
        case ECONNREFUSED:
                return "connection refused (is the server up and sshd running?)";
        case EHOSTUNREACH:
                return "host unreachable (is the server up?)";
        case ENETUNREACH:
                return "network unreachable (is the address right?)";
        default:
                return strerror(error);
        }
}

static int ssh_connect(Ssh *s) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
        unsigned sec = s->timeout_sec < SSH_CONNECT_TIMEOUT_SEC ? s->timeout_sec : SSH_CONNECT_TIMEOUT_SEC;
        _cleanup_(freeaddrinfop) struct addrinfo *list = NULL;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + sec * USEC_PER_SEC;
        char port[8];
        int r;

        snprintf(port, sizeof(port), "%u", s->cu->ssh_port);
        r = getaddrinfo(s->cu->ssh_host, port, &hints, &list);
        if (r != 0)
                return resolve_fail(s, r);
        r = -EADDRNOTAVAIL;
        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                r = connect_one(ai, deadline, &s->fd);
                if (r >= 0)
                        return 0;
                log_debug_errno(r, "Cannot connect to an address of %s, trying the next: %m", s->where);
                if (r == -ETIMEDOUT)
                        break;
        }
        if (r == -ETIMEDOUT)
                return ssh_fail(s, r, "timed out connecting to %s after %u s", s->where, sec);
        return ssh_fail(s, r, "cannot connect to %s: %s", s->where, connect_hint(-r));
}

/* Offer only the configured kind of host key, so a server with several presents that one. */
static const char *host_key_methods(const char *configured) {
        if (startswith(configured, "ssh-ed25519 "))
                return "ssh-ed25519";
        if (startswith(configured, "ecdsa-sha2-nistp256 "))
                return "ecdsa-sha2-nistp256";
        if (startswith(configured, "ecdsa-sha2-nistp384 "))
                return "ecdsa-sha2-nistp384";
        if (startswith(configured, "ecdsa-sha2-nistp521 "))
                return "ecdsa-sha2-nistp521";
        return NULL;
}

static int ssh_handshake(Ssh *s) {
        const char *methods = host_key_methods(s->cu->ssh_known_host_key);
        usec_t deadline;
        int r;

        s->session = libssh2_session_init();
        if (!s->session)
                return ssh_fail(s, -ENOMEM, "out of memory");
        libssh2_session_set_blocking(s->session, 0);
        if (methods && libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY, methods) < 0)
                log_debug("libssh2 takes none of the host key methods %s, ignoring: %s", methods,
                          ssh_last_error(s));

        /* A healthy sshd greets at once: a hung one fails fast, not at the command's deadline. */
        deadline = s->deadline;
        s->deadline = MIN(deadline, now_usec(CLOCK_MONOTONIC) + SSH_HANDSHAKE_TIMEOUT_SEC * USEC_PER_SEC);
        r = SSH_AGAIN(s, libssh2_session_handshake(s->session, s->fd));
        s->deadline = deadline;
        if (r == LIBSSH2_ERROR_TIMEOUT)
                return ssh_fail(s, -ETIMEDOUT, "%s accepted the connection but did not complete the SSH "
                                "handshake within %u s (is sshd healthy?)", s->where,
                                MIN(s->timeout_sec, SSH_HANDSHAKE_TIMEOUT_SEC));
        if (r < 0)
                return ssh_fail(s, -EPROTO, "the SSH handshake with %s failed: %s (is it an SSH server?)",
                                s->where, ssh_last_error(s));
        s->handshaken = true;
        return 0;
}

static int ssh_verify_host_key(Ssh *s) {
        _cleanup_free_ char *fingerprint = NULL;
        const char *blob, *type, *hash;
        size_t size = 0;
        int t = LIBSSH2_HOSTKEY_TYPE_UNKNOWN, r;

        blob = libssh2_session_hostkey(s->session, &size, &t);
        type = ssh_host_key_type_to_string(t);
        r = ssh_host_key_check(s->cu->ssh_known_host_key, type, blob, size);
        if (r >= 0)
                return 0;
        if (r == -EINVAL)
                return ssh_fail(s, r, "the configured host key of %s is not a valid key; refusing to "
                                "connect", s->where);
        hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
        if (hash && ssh_host_key_fingerprint(type ?: "unknown", (const uint8_t *) hash, &fingerprint) < 0)
                return ssh_fail(s, -ENOMEM, "out of memory");
        /* Whoever reads it must know what it may mean and what to do, without a manual. */
        return ssh_fail(s, -EKEYREJECTED, "the host key of %s does not match the configured one (the server "
                        "presents %s); refusing to connect, as this may be an attack (someone between us "
                        "and the server). If the server was reinstalled or its keys were changed, the "
                        "operator should compare this key with the server's own and update "
                        "ssh_known_host_key", s->where, fingerprint ?: type ?: "an unknown key");
}

static int ssh_authenticate(Ssh *s) {
        const Customer *cu = s->cu;
        int r;

        if (access(cu->ssh_key_file, R_OK) < 0) {
                r = -errno;
                return ssh_fail(s, r, "cannot read the SSH key %s: %s", cu->ssh_key_file, strerror(-r));
        }
        r = SSH_AGAIN(s, libssh2_userauth_publickey_fromfile_ex(s->session, cu->ssh_user,
                                                                 strlen(cu->ssh_user), NULL,
                                                                 cu->ssh_key_file, NULL));
        switch (r) {
        case 0:
                return 0;
        case LIBSSH2_ERROR_TIMEOUT:
                return ssh_fail(s, -ETIMEDOUT, "timed out authenticating as %s at %s after %u s",
                                cu->ssh_user, s->where, s->timeout_sec);
        case LIBSSH2_ERROR_FILE:
                return ssh_fail(s, -ENOKEY, "cannot use the SSH key %s: %s (is it an unencrypted OpenSSH "
                                "private key?)", cu->ssh_key_file, ssh_last_error(s));
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
        case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
                return ssh_fail(s, -EACCES, "authentication as %s at %s failed (is the key in "
                                "authorized_keys?)", cu->ssh_user, s->where);
        default:
                return ssh_fail(s, -EPROTO, "authentication as %s at %s failed: %s", cu->ssh_user, s->where,
                                ssh_last_error(s));
        }
}

static int ssh_exec(Ssh *s, const char *command) {
        int r;

        s->channel = libssh2_channel_open_session(s->session);
        while (!s->channel && libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN) {
                if (ssh_wait(s) < 0)
                        return ssh_fail_timeout(s);
                s->channel = libssh2_channel_open_session(s->session);
        }
        if (!s->channel)
                return ssh_fail(s, -EPROTO, "%s refused a session: %s", s->where, ssh_last_error(s));

        r = SSH_AGAIN(s, libssh2_channel_exec(s->channel, command));
        if (r == LIBSSH2_ERROR_TIMEOUT)
                return ssh_fail_timeout(s);
        if (r < 0)
                return ssh_fail(s, -EPROTO, "%s refused to run the command: %s", s->where,
                                ssh_last_error(s));
        /* Nothing on stdin: a command that reads it ends instead of waiting. */
        r = SSH_AGAIN(s, libssh2_channel_send_eof(s->channel));
        if (r == LIBSSH2_ERROR_TIMEOUT)
                return ssh_fail_timeout(s);
        return 0;
}

/* Keeps at most SSH_OUTPUT_MAX bytes; NUL bytes become '?', so the text stays one C string. */
static int buffer_append(Buffer *b, const char *data, size_t n) {
        char *p;

        if (n > SSH_OUTPUT_MAX - b->size) {
                n = SSH_OUTPUT_MAX - b->size;
                b->truncated = true;
        }
        if (n == 0)
                return 0;
        p = realloc(b->data, b->size + n + 1);
        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                p[b->size + i] = data[i] ?: '?';
        b->size += n;
        p[b->size] = 0;
        b->data = p;
        return 0;
}

static int ssh_take_output(Ssh *s, int stream, char *buf, size_t n) {
        if (!s->on_output)
                return buffer_append(stream ? &s->err : &s->out, buf, n);
        for (size_t i = 0; i < n; i++)
                buf[i] = buf[i] ?: '?';
        s->on_output(buf, n, s->userdata);
        return 0;
}

/* ssh_wait(), but a streaming caller hears from us at least once a second. */
static int ssh_wait_output(Ssh *s) {
        usec_t deadline = s->deadline, tick;
        int r;

        if (!s->on_output)
                return ssh_wait(s);
        tick = now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC;
        s->deadline = MIN(deadline, tick);
        r = ssh_wait(s);
        s->deadline = deadline;
        if (r == -ETIMEDOUT && tick < deadline) {
                s->timed_out = false;
                s->on_output(NULL, 0, s->userdata);
                return 0;
        }
        return r;
}

/* Whether libssh2 holds output of the channel that it has already read off the socket. */
static bool ssh_queued(Ssh *s) {
        unsigned long avail = 0;

        (void) libssh2_channel_window_read_ex(s->channel, &avail, NULL);
        return avail > 0;
}

static int ssh_read_output(Ssh *s) {
        char buf[32 * 1024];
        bool looked_again = false;

        for (;;) {
                bool again = false, progress = false;

                if (now_usec(CLOCK_MONOTONIC) >= s->deadline)
                        return ssh_fail_timeout(s);
                for (int stream = 0; stream < 2; stream++) {
                        int id = stream ? SSH_EXTENDED_DATA_STDERR : 0;
                        ssize_t n = libssh2_channel_read_ex(s->channel, id, buf, sizeof(buf));

                        if (n == LIBSSH2_ERROR_EAGAIN)
                                again = true;
                        else if (n < 0)
                                return ssh_fail(s, -ECONNRESET, "the connection to %s broke while the "
                                                "command ran: %s", s->where, ssh_last_error(s));
                        else if (n > 0 && ssh_take_output(s, stream, buf, (size_t) n) < 0)
                                return ssh_fail(s, -ENOMEM, "out of memory");
                        progress = progress || n > 0;
                }
                if (progress) {
                        looked_again = false;
                        continue;
                }
                /* Reading stderr may have taken stdout's next packets off the socket, or the last ones
                 * and the end: they wait in libssh2's queue, and the socket may stay quiet for good.
                 * Once, so that a server's output on a stream we do not read cannot make us spin. */
                if (!looked_again && ssh_queued(s)) {
                        looked_again = true;
                        continue;
                }
                if (!again || libssh2_channel_eof(s->channel))
                        return 0;
                if (ssh_wait_output(s) < 0)
                        return ssh_fail_timeout(s);
        }
}

/* libssh2 1.10 cannot tell a missing exit-status from status 0; callers check the output too. */
static int ssh_finish(Ssh *s, SshResult *res) {
        char *sig = NULL;
        size_t len = 0;
        int r;

        r = SSH_AGAIN(s, libssh2_channel_close(s->channel));
        if (r >= 0)
                r = SSH_AGAIN(s, libssh2_channel_wait_closed(s->channel));
        if (r == LIBSSH2_ERROR_TIMEOUT)
                return ssh_fail_timeout(s);
        if (r < 0)
                return ssh_fail(s, -ECONNRESET, "the connection to %s broke at the end of the command: %s",
                                s->where, ssh_last_error(s));
        res->exit_status = libssh2_channel_get_exit_status(s->channel);
        if (libssh2_channel_get_exit_signal(s->channel, &sig, &len, NULL, NULL, NULL, NULL) == 0 && sig) {
                res->exit_signal = strndup(sig, len);
                libssh2_free(s->session, sig);
                if (!res->exit_signal)
                        return ssh_fail(s, -ENOMEM, "out of memory");
                res->exit_status = -1;
        }
        return 0;
}

/* Bounded too: blocking from here on, each wait at most a second; a server that let the deadline pass
 * gets no goodbye, its socket is shut down first. */
static void ssh_done(Ssh *s) {
        if (s->session) {
                libssh2_session_set_timeout(s->session, 1000);
                libssh2_session_set_blocking(s->session, 1);
                if (s->timed_out)
                        (void) shutdown(s->fd, SHUT_RDWR);
                if (s->channel)
                        (void) libssh2_channel_free(s->channel);
                if (s->handshaken && !s->timed_out)
                        (void) libssh2_session_disconnect(s->session, "done");
                (void) libssh2_session_free(s->session);
        }
        closep(&s->fd);
        free(s->out.data);
        free(s->err.data);
        free(s->where);
        free(s->error);
}

void ssh_result_done(SshResult *r) {
        r->out = mfree(r->out);
        r->err = mfree(r->err);
        r->exit_signal = mfree(r->exit_signal);
}

static bool command_valid(const char *command) {
        if (isempty(command) || strlen(command) > 64 * 1024)
                return false;
        for (const char *p = command; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int ssh_init(Ssh *s, const Customer *cu, unsigned timeout_sec) {
        static bool initialized = false;

        *s = (Ssh) { .cu = cu, .fd = -EBADF, .timeout_sec = timeout_sec };
        if (!initialized && libssh2_init(0) != 0)
                return ssh_fail(s, -ENOMEM, "cannot initialize libssh2");
        initialized = true;
        if (asprintf(&s->where, strchr(cu->ssh_host, ':') ? "[%s]:%u" : "%s:%u", cu->ssh_host,
                     cu->ssh_port) < 0)
                return ssh_fail(s, -ENOMEM, "out of memory");
        s->deadline = now_usec(CLOCK_MONOTONIC) + timeout_sec * USEC_PER_SEC;
        return 0;
}

static int ssh_run_full(const Customer *cu, const char *command, unsigned timeout_sec,
                        ssh_output_t on_output, void *userdata, SshResult *ret, char **ret_error) {
        _cleanup_(ssh_done) Ssh s = { .fd = -EBADF };
        SshResult res = { .exit_status = -1 };
        int r;

        if (!cu || !cu->ssh_host || !cu->ssh_user || !cu->ssh_key_file || !cu->ssh_known_host_key ||
            timeout_sec == 0 || !command_valid(command)) {
                if (ret_error)
                        *ret_error = strdup("internal error: incomplete SSH settings or a bad command");
                return -EINVAL;
        }
        r = ssh_init(&s, cu, timeout_sec);
        s.on_output = on_output;
        s.userdata = userdata;
        if (r >= 0)
                r = ssh_connect(&s);
        if (r >= 0)
                r = ssh_handshake(&s);
        if (r >= 0)
                r = ssh_verify_host_key(&s);
        if (r >= 0)
                r = ssh_authenticate(&s);
        if (r >= 0)
                r = ssh_exec(&s, command);
        if (r >= 0)
                r = ssh_read_output(&s);
        if (r >= 0)
                r = ssh_finish(&s, &res);
        if (r >= 0) {
                res.out = TAKE_PTR(s.out.data) ?: strdup("");
                res.err = TAKE_PTR(s.err.data) ?: strdup("");
                if (!res.out || !res.err)
                        r = ssh_fail(&s, -ENOMEM, "out of memory");
        }
        if (r < 0) {
                log_debug_errno(r, "Running a command on %s failed: %s", strempty(s.where),
                                strempty(s.error));
                ssh_result_done(&res);
                if (ret_error)
                        *ret_error = TAKE_PTR(s.error) ?: strdup("out of memory");
                return r;
        }
        res.out_truncated = s.out.truncated;
        res.err_truncated = s.err.truncated;
        *ret = res;
        return 0;
}

int ssh_run(const Customer *cu, const char *command, unsigned timeout_sec, SshResult *ret,
            char **ret_error) {
        return ssh_run_full(cu, command, timeout_sec, NULL, NULL, ret, ret_error);
}

int ssh_run_streaming(const Customer *cu, const char *command, unsigned timeout_sec, ssh_output_t on_output,
                      void *userdata, SshResult *ret, char **ret_error) {
        if (!on_output) {
                if (ret_error)
                        *ret_error = strdup("internal error: no output handler");
                return -EINVAL;
        }
        return ssh_run_full(cu, command, timeout_sec, on_output, userdata, ret, ret_error);
}
