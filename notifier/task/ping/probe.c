/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "build-config.h"
#include "config.h"
#include "curl-glue.h"
#include "probe.h"
#include "util.h"

#define DNS_TIMEOUT_USEC (3 * USEC_PER_SEC)
#define TCP_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define HTTP_TIMEOUT_MS 10000L
#define HTTP_CONNECT_TIMEOUT_MS 5000L

struct Prober {
        sd_event *event;
        CurlGlue *glue;
        DnsServer dns;
        char *ca_file;
        const NetRange *allowed;
        size_t n_allowed;
};

/* ---- names ---------------------------------------------------------------------------------- */

typedef struct ResolveOp {
        Prober *prober;
        resolve_callback_t cb;
        void *userdata;
        unsigned pending;
        char *why; /* of the A question, which decides */
        bool nxdomain;
        char **cnames;
        char **v4, **v6;
} ResolveOp;

static void resolve_op_free(ResolveOp *op) {
        free(op->why);
        strv_free(op->cnames);
        strv_free(op->v4);
        strv_free(op->v6);
        free(op);
}

static void on_resolve_answer(ResolveOp *op, bool is_a, int error, DnsAnswer *a, const char *why) {
        Resolved r = {};
        _cleanup_strv_free_ char **all = NULL, **allowed = NULL;
        _cleanup_free_ char *refused = NULL;

        if (is_a) {
                if (error < 0)
                        op->why = strdup(why ?: "failed");
                else if (a->rcode != 0 && a->rcode != DNS_RCODE_NXDOMAIN)
                        op->why = strdup(dns_rcode_to_string(a->rcode));
                else {
                        op->nxdomain = a->rcode == DNS_RCODE_NXDOMAIN;
                        op->cnames = TAKE_PTR(a->cnames);
                        op->v4 = TAKE_PTR(a->addresses);
                }
        } else if (error >= 0) /* A server that cannot answer AAAA still answered for A. */
                op->v6 = TAKE_PTR(a->addresses);
        if (--op->pending > 0)
                return;

        for (char **i = op->v4; i && *i; i++)
                (void) strv_extend(&all, *i);
        for (char **i = op->v6; i && *i; i++)
                (void) strv_extend(&all, *i);
        /* The name is the customer's to point anywhere: not into this host's own network. */
        for (char **i = all; i && *i; i++) {
                const char *kind = probe_address_refused(op->prober, *i);
                if (!kind)
                        (void) strv_extend(&allowed, *i);
                else if (!refused && asprintf(&refused, "points only to %s, a%s %s address, which is not checked",
                                              *i, kind[0] == 'i' ? "n" : "", kind) < 0)
                        refused = NULL;
        }
        r = (Resolved){ .why = op->why, .nxdomain = op->nxdomain, .cnames = op->cnames, .answered = all,
                        .addresses = allowed, .refused = refused };
        op->cb(op->prober, &r, op->userdata);
        resolve_op_free(op);
}

static void on_a(int error, DnsAnswer *a, const char *why, void *userdata) {
        on_resolve_answer(userdata, true, error, a, why);
}

static void on_aaaa(int error, DnsAnswer *a, const char *why, void *userdata) {
        on_resolve_answer(userdata, false, error, a, why);
}

int probe_resolve(Prober *p, const char *host, resolve_callback_t cb, void *userdata) {
        ResolveOp *op;
        int r;

        op = calloc(1, sizeof(ResolveOp));
        if (!op)
                return -ENOMEM;
        *op = (ResolveOp){ .prober = p, .cb = cb, .userdata = userdata, .pending = 2 };
        r = dns_lookup(p->event, &p->dns, host, DNS_TYPE_A, DNS_TIMEOUT_USEC, on_a, op);
        if (r < 0) {
                free(op);
                return r;
        }
        r = dns_lookup(p->event, &p->dns, host, DNS_TYPE_AAAA, DNS_TIMEOUT_USEC, on_aaaa, op);
        if (r < 0) /* The A question is out and will call back: count this one as answered. */
                on_aaaa(r, NULL, "cannot ask", op);
        return 0;
}

typedef struct SrvOp {
        Prober *prober;
        srv_callback_t cb;
        void *userdata;
} SrvOp;

static int srv_compare(const void *a, const void *b) {
        const DnsSrv *x = a, *y = b;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return x->weight > y->weight ? -1 : x->weight < y->weight;
}

static void on_srv(int error, DnsAnswer *a, const char *why, void *userdata) {
        SrvOp *op = userdata;
        SrvAnswer r = {};

        if (error < 0)
                r.why = why ?: "failed";
        else if (a->rcode != 0 && a->rcode != DNS_RCODE_NXDOMAIN)
                r.why = dns_rcode_to_string(a->rcode);
        else {
                /* The answer is ours until the callback returns: sorting it in place is fine. */
                if (a->n_srv > 0)
                        qsort(a->srv, a->n_srv, sizeof(DnsSrv), srv_compare);
                r.srv = a->srv;
                r.n_srv = a->n_srv;
        }
        op->cb(op->prober, &r, op->userdata);
        free(op);
}

int probe_srv(Prober *p, const char *name, srv_callback_t cb, void *userdata) {
        SrvOp *op;
        int r;

        op = malloc(sizeof(SrvOp));
        if (!op)
                return -ENOMEM;
        *op = (SrvOp){ p, cb, userdata };
        r = dns_lookup(p->event, &p->dns, name, DNS_TYPE_SRV, DNS_TIMEOUT_USEC, on_srv, op);
        if (r < 0)
                free(op);
        return r;
}

/* ---- https ---------------------------------------------------------------------------------- */

typedef struct HttpOp {
        Prober *prober;
        CURL *easy;
        struct curl_slist *resolve;
        char *body;
        size_t size;
        bool too_large;
        char error[CURL_ERROR_SIZE];
        http_callback_t cb;
        void *userdata;
} HttpOp;

static void http_op_free(HttpOp *op) {
        curl_easy_cleanup(op->easy);
        curl_slist_free_all(op->resolve);
        free(op->body);
        free(op);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpOp *, http_op_free);

int probe_parse_cert_time(const char *s, time_t *ret) {
        struct tm tm = {};
        const char *end;

        end = strptime(s, "%b %d %H:%M:%S %Y", &tm);
        if (!end || (*end && !streq(end, " GMT")))
                return -EINVAL;
        *ret = timegm(&tm);
        return *ret == (time_t) -1 ? -EINVAL : 0;
}

static time_t cert_expiry(CURL *easy) {
        struct curl_certinfo *ci = NULL;
        time_t t;

        if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
                return 0;
        /* The first certificate is the server's own. */
        for (struct curl_slist *i = ci->certinfo[0]; i; i = i->next) {
                const char *v = startswith(i->data, "Expire date:");
                if (v && probe_parse_cert_time(v, &t) >= 0)
                        return t;
        }
        return 0;
}

/* A reason a customer can act on, curl's detail in brackets when it adds something. */
static const char *http_why(CURLcode c, const char *detail, char *buf, size_t size) {
        const char *what;

        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
                return "timeout";
        case CURLE_COULDNT_CONNECT:
                what = "cannot connect";
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
                what = "TLS certificate not accepted";
                break;
        case CURLE_SSL_CONNECT_ERROR:
                what = "TLS handshake failed";
                break;
        case CURLE_WRITE_ERROR:
                return "the answer is larger than 1 MiB";
        default:
                what = curl_easy_strerror(c);
        }
        if (isempty(detail))
                return what;
        snprintf(buf, size, "%s (%s)", what, detail);
        return buf;
}

static void on_http_done(CurlGlue *g, CURL *easy, CURLcode result) {
        HttpOp *op = NULL;
        HttpResult r = {};
        char why[CURL_ERROR_SIZE + 64];

        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &op);
        if (result != CURLE_OK)
                r.why = http_why(op->too_large ? CURLE_WRITE_ERROR : result, op->error, why, sizeof(why));
        else {
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
                r.body = op->body ?: "";
                r.size = op->size;
        }
        r.cert_expiry = cert_expiry(easy);
        op->cb(op->prober, &r, op->userdata);
        http_op_free(op);
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        HttpOp *op = userdata;
        size_t add = size * n;
        char *b;

        if (op->size + add > PROBE_BODY_MAX) {
                op->too_large = true;
                return 0;
        }
        b = realloc(op->body, op->size + add + 1);
        if (!b)
                return 0;
        memcpy(b + op->size, data, add);
        op->size += add;
        b[op->size] = 0;
        op->body = b;
        return add;
}

/* "host:port:addr,[v6addr]" for CURLOPT_RESOLVE, from the URL's own host and port. */
static int resolve_entry(CURL *easy, const char *url, char *const *addresses, struct curl_slist **ret) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        _cleanup_(curl_freep) char *host = NULL, *port = NULL;
        _cleanup_free_ char *entry = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
                return -EINVAL;
        f = open_memstream(&entry, &n);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s:%s:", host, port);
        for (char *const *a = addresses; *a; a++)
                fprintf(f, strchr(*a, ':') ? "%s[%s]" : "%s%s", a == addresses ? "" : ",", *a);
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret = curl_slist_append(NULL, entry);
        return *ret ? 0 : -ENOMEM;
}

const char *probe_address_refused(Prober *p, const char *address) {
        return netrange_refused(address, p->allowed, p->n_allowed);
}

int probe_http(Prober *p, const char *url, char *const *addresses, http_callback_t cb, void *userdata) {
        _cleanup_(http_op_freep) HttpOp *op = NULL;
        CURL *e;
        int r;

        if (strv_length((char **) addresses) == 0)
                return -EINVAL;
        for (char *const *a = addresses; *a; a++)
                if (probe_address_refused(p, *a))
                        return -EPERM;
        op = calloc(1, sizeof(HttpOp));
        if (!op)
                return -ENOMEM;
        *op = (HttpOp){ .prober = p, .cb = cb, .userdata = userdata, .easy = curl_easy_init() };
        e = op->easy;
        if (!e)
                return -ENOMEM;
        r = resolve_entry(e, url, addresses, &op->resolve);
        if (r < 0)
                return r;
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_RESOLVE, op->resolve) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, op) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, op) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, op->error) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CERTINFO, 1L) != CURLE_OK ||
            /* Every probe sees the server afresh: a connection or TLS session another probe
             * opened would hide the certificate (no handshake, no certinfo). */
            curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "the-scheduler/" PACKAGE_VERSION) != CURLE_OK ||
            (p->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file) != CURLE_OK) ||
            curl_glue_add(p->glue, e) < 0)
                return -EIO;
        /* on_http_done() frees it. */
        TAKE_PTR(op);
        return 0;
}

/* ---- tcp ------------------------------------------------------------------------------------ */

typedef struct TcpOp {
        Prober *prober;
        int fd;
        int error; /* connect() failed at once: SO_ERROR will not tell */
        sd_event_source *io, *timer;
        tcp_callback_t cb;
        void *userdata;
} TcpOp;

static void tcp_op_free(TcpOp *op) {
        sd_event_source_disable_unref(op->io);
        sd_event_source_disable_unref(op->timer);
        if (op->fd >= 0)
                close(op->fd);
        free(op);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(TcpOp *, tcp_op_free);

static void tcp_finish(TcpOp *op, const char *why) {
        op->cb(op->prober, why, op->userdata);
        tcp_op_free(op);
}

static const char *connect_why(int error) {
        return error == ECONNREFUSED                           ? "connection refused"
               : error == EHOSTUNREACH || error == ENETUNREACH ? "unreachable"
                                                               : strerror(error);
}

static int on_tcp_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        TcpOp *op = userdata;
        int error = op->error;
        socklen_t len = sizeof(error);

        if (error == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        tcp_finish(op, error == 0 ? NULL : connect_why(error));
        return 0;
}

static int on_tcp_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        tcp_finish(userdata, "timeout");
        return 0;
}

int probe_tcp(Prober *p, const char *address, unsigned port, tcp_callback_t cb, void *userdata) {
        struct sockaddr_storage sa;
        socklen_t len;
        char text[INET6_ADDRSTRLEN + 8];
        _cleanup_(tcp_op_freep) TcpOp *op = NULL;
        int r;

        snprintf(text, sizeof(text), strchr(address, ':') ? "[%s]:%u" : "%s:%u", address, port);
        if (socket_address_parse(text, port, &sa, &len) < 0)
                return -EINVAL;
        op = calloc(1, sizeof(TcpOp));
        if (!op)
                return -ENOMEM;
        *op = (TcpOp){ .prober = p, .cb = cb, .userdata = userdata };
        op->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (op->fd < 0)
                return -errno;
        /* Non-blocking: EINPROGRESS, or an error at once; either way the socket turns writable and
         * SO_ERROR says how it went. */
        if (connect(op->fd, (struct sockaddr *) &sa, len) < 0 && errno != EINPROGRESS)
                op->error = errno;
        r = sd_event_add_io(p->event, &op->io, op->fd, EPOLLOUT, on_tcp_io, op);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(p->event, &op->timer, CLOCK_MONOTONIC, TCP_TIMEOUT_USEC, 0,
                                       on_tcp_timeout, op);
        if (r < 0)
                return r;
        /* tcp_finish() frees it. */
        TAKE_PTR(op);
        return 0;
}

/* ---- the prober ----------------------------------------------------------------------------- */

int prober_new(sd_event *e, const char *resolver, const char *ca_file, const NetRange *allowed,
               size_t n_allowed, Prober **ret) {
        _cleanup_(prober_freep) Prober *p = NULL;
        int r;

        p = calloc(1, sizeof(Prober));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->allowed = allowed;
        p->n_allowed = n_allowed;
        r = dns_server_init(&p->dns, resolver);
        if (r < 0)
                return r;
        if (ca_file) {
                p->ca_file = strdup(ca_file);
                if (!p->ca_file)
                        return -ENOMEM;
        }
        r = curl_glue_new(e, on_http_done, &p->glue);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

Prober *prober_free(Prober *p) {
        if (!p)
                return NULL;
        curl_glue_free(p->glue);
        sd_event_unref(p->event);
        free(p->ca_file);
        free(p);
        return NULL;
}
