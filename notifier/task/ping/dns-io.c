/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "dns-io.h"
#include "util.h"

#define RESEND_USEC (1 * USEC_PER_SEC)

typedef struct DnsQuery {
        sd_event_source *io;
        sd_event_source *timer;
        int fd;
        uint16_t id;
        uint16_t type;
        char *name;
        uint8_t packet[512];
        size_t packet_len;
        uint64_t deadline;
        dns_callback_t cb;
        void *userdata;
} DnsQuery;

static void query_free(DnsQuery *q) {
        sd_event_source_disable_unref(q->io);
        sd_event_source_disable_unref(q->timer);
        if (q->fd >= 0)
                close(q->fd);
        free(q->name);
        free(q);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsQuery *, query_free);

static void query_finish(DnsQuery *q, int error, DnsAnswer *a, const char *why) {
        q->cb(error, a, why, q->userdata);
        query_free(q);
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DnsQuery *q = userdata;
        uint8_t buf[DNS_PACKET_MAX];
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        const char *why = NULL;
        ssize_t n;
        int r;

        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                /* ICMP port unreachable comes back as ECONNREFUSED on a connected socket. */
                query_finish(q, -errno, NULL,
                             errno == ECONNREFUSED ? "nothing listens on its port" : strerror(errno));
                return 0;
        }
        r = dns_answer_parse(buf, (size_t) n, q->id, q->name, q->type, &a, &why);
        /* Not the answer to our question: a late answer to an earlier send, or spoofed. Keep
         * waiting for ours until the deadline. */
        if (r == -EBADMSG && (streq(why, "not the answer to our question") ||
                              streq(why, "the answer is to another question")))
                return 0;
        if (r < 0)
                query_finish(q, r, NULL, why ?: strerror(-r));
        else
                query_finish(q, 0, &a, NULL);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        DnsQuery *q = userdata;

        if (usec >= q->deadline) {
                query_finish(q, -ETIMEDOUT, NULL, "timeout");
                return 0;
        }
        (void) send(q->fd, q->packet, q->packet_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void) sd_event_source_set_time(s, MIN(usec + RESEND_USEC, q->deadline));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int dns_lookup(sd_event *e, const DnsServer *server, const char *name, uint16_t type, uint64_t timeout_usec,
               dns_callback_t cb, void *userdata) {
        _cleanup_(query_freep) DnsQuery *q = NULL;
        uint64_t now;
        int r;

        q = calloc(1, sizeof(DnsQuery));
        if (!q)
                return -ENOMEM;
        *q = (DnsQuery){ .fd = -EBADF, .type = type, .cb = cb, .userdata = userdata, .name = strdup(name) };
        if (!q->name)
                return -ENOMEM;
        if (getrandom(&q->id, sizeof(q->id), 0) != sizeof(q->id))
                q->id = (uint16_t) (getpid() ^ now_usec(CLOCK_MONOTONIC));
        r = dns_query_build(name, type, q->id, q->packet, sizeof(q->packet), &q->packet_len);
        if (r < 0)
                return r;
        q->fd = socket(server->address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (q->fd < 0 || connect(q->fd, (const struct sockaddr *) &server->address, server->length) < 0)
                return -errno;
        (void) sd_event_now(e, CLOCK_MONOTONIC, &now);
        q->deadline = now + timeout_usec;
        r = sd_event_add_io(e, &q->io, q->fd, EPOLLIN, on_readable, q);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &q->timer, CLOCK_MONOTONIC, now, 0, on_timer, q);
        if (r < 0)
                return r;
        /* The timer fires at once and sends the first packet; query_finish() frees q. */
        TAKE_PTR(q);
        return 0;
}

int dns_server_init(DnsServer *s, const char *configured) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[256], address[128];

        if (configured)
                return socket_address_parse(configured, 53, &s->address, &s->length);
        f = fopen("/etc/resolv.conf", "re");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, " nameserver %127s", address) == 1 &&
                    socket_address_parse(address, 53, &s->address, &s->length) >= 0)
                        return 0;
        return socket_address_parse("127.0.0.1", 53, &s->address, &s->length);
}
