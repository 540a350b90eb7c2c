/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <curl/curl.h>

#include "build-config.h"
#include "curl-glue.h"
#include "log.h"
#include "matrix.h"

/* A /sync answer for a busy account is large, but a homeserver that sends more is broken. */
#define RESPONSE_MAX (16U * 1024U * 1024U)

struct MatrixClient {
        CurlGlue *glue;
        char *homeserver;
        char *auth_header;
        unsigned in_flight;
};

struct MatrixRequest {
        MatrixClient *client;
        CURL *easy;
        struct curl_slist *headers;
        char *body;
        char *response;
        size_t response_size;
        bool too_large;
        matrix_callback_t callback;
        void *userdata;
};

static void matrix_request_free(MatrixRequest *r) {
        if (!r)
                return;
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        free(r->body);
        free(r->response);
        free(r);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(MatrixRequest *, matrix_request_free);

static int curl_error_to_errno(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_WRITE_ERROR:
                return -EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static void on_done(CurlGlue *g, CURL *easy, CURLcode result) {
        MatrixRequest *r = NULL;
        MatrixResponse resp = {};
        long status = 0;

        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &r);
        r->client->in_flight--;

        if (result == CURLE_OK)
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (result != CURLE_OK)
                resp.error = curl_error_to_errno(result);
        else
                matrix_response_parse(status, r->response, r->response_size, &resp);

        r->callback(r, &resp, r->userdata);
        json_decref(resp.json);
        matrix_request_free(r);
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        MatrixRequest *r = userdata;
        size_t k = size * n;
        char *p;

        if (r->response_size + k > RESPONSE_MAX)
                return 0;
        p = realloc(r->response, r->response_size + k + 1);
        if (!p)
                return 0;
        memcpy(p + r->response_size, data, k);
        r->response = p;
        r->response_size += k;
        p[r->response_size] = 0;
        return k;
}

int matrix_client_new(sd_event *event, const char *homeserver, MatrixClient **ret) {
        _cleanup_(matrix_client_freep) MatrixClient *c = NULL;
        int r;

        c = calloc(1, sizeof(MatrixClient));
        if (!c)
                return -ENOMEM;
        c->homeserver = strdup(homeserver);
        if (!c->homeserver)
                return -ENOMEM;
        r = curl_glue_new(event, on_done, &c->glue);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

MatrixClient *matrix_client_free(MatrixClient *c) {
        if (!c)
                return NULL;
        curl_glue_free(c->glue);
        free(c->homeserver);
        free(c->auth_header);
        free(c);
        return NULL;
}

int matrix_client_set_token(MatrixClient *c, const char *token) {
        char *h = NULL;

        if (token && asprintf(&h, "Authorization: Bearer %s", token) < 0)
                return -ENOMEM;
        free(c->auth_header);
        c->auth_header = h;
        return 0;
}

bool matrix_client_has_token(const MatrixClient *c) {
        return c->auth_header;
}

unsigned matrix_client_in_flight(const MatrixClient *c) {
        return c->in_flight;
}

static int request_setup(MatrixRequest *r, const char *method, const char *url, unsigned timeout_ms) {
        CURL *e = r->easy;

        r->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (r->headers && r->client->auth_header)
                r->headers = curl_slist_append(r->headers, r->client->auth_header);
        if (!r->headers)
                return -ENOMEM;

        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "the-scheduler/" PACKAGE_VERSION) != CURLE_OK)
                return -EINVAL;
        if (r->body && (curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK ||
                        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(r->body)) != CURLE_OK))
                return -EINVAL;
        return 0;
}

int matrix_request(MatrixClient *c, const char *method, const char *path, json_t *body, unsigned timeout_ms,
                   matrix_callback_t callback, void *userdata, MatrixRequest **ret) {
        _cleanup_(matrix_request_freep) MatrixRequest *r = NULL;
        _cleanup_free_ char *url = NULL;
        int k;

        if (asprintf(&url, "%s%s", c->homeserver, path) < 0)
                return -ENOMEM;
        r = calloc(1, sizeof(MatrixRequest));
        if (!r)
                return -ENOMEM;
        *r = (MatrixRequest) { .client = c, .callback = callback, .userdata = userdata };
        r->easy = curl_easy_init();
        if (!r->easy)
                return -ENOMEM;
        if (body) {
                r->body = json_dumps(body, JSON_COMPACT);
                if (!r->body)
                        return -ENOMEM;
        }
        k = request_setup(r, method, url, timeout_ms);
        if (k < 0)
                return k;
        k = curl_glue_add(c->glue, r->easy);
        if (k < 0)
                return k;
        c->in_flight++;
        if (ret)
                *ret = r;
        /* on_done() or matrix_request_cancel() frees it. */
        TAKE_PTR(r);
        return 0;
}

void matrix_request_cancel(MatrixRequest *r) {
        if (!r)
                return;
        curl_glue_remove(r->client->glue, r->easy);
        r->client->in_flight--;
        matrix_request_free(r);
}

char *matrix_escape(const char *s) {
        char *t, *e;

        e = curl_easy_escape(NULL, s, 0);
        if (!e)
                return NULL;
        t = strdup(e);
        curl_free(e);
        return t;
}

void matrix_response_parse(long status, const char *body, size_t size, MatrixResponse *resp) {
        json_t *v;

        *resp = (MatrixResponse) { .status = status };
        if (!body)
                return;
        /* A message may carry "\u0000": refusing the whole answer for it would stop every sync
         * (and the bot) on one stranger's message. The message parser sees the NUL and refuses it. */
        resp->json = json_loadb(body, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        if (!json_is_object(resp->json))
                return;

        resp->errcode = json_string_value(json_object_get(resp->json, "errcode"));
        resp->errmsg = json_string_value(json_object_get(resp->json, "error"));
        v = json_object_get(resp->json, "retry_after_ms");
        if (json_is_integer(v) && json_integer_value(v) > 0)
                resp->retry_after_ms = (uint64_t) json_integer_value(v);
}

bool matrix_response_retryable(const MatrixResponse *resp) {
        return resp->error < 0 || resp->status >= 500 || resp->status == 429 || resp->status == 0;
}
