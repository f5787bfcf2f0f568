/*
 * wsfloor: the bench's floor reference (load/README.md). One thread, one epoll set, no JSON parser: it speaks only
 * as much of PROTOCOL.md as the driver's `reqcfm` (echo) and `connect` scenarios use, so that its server CPU per
 * request is the least any server can spend on this machine. It is a measuring stick, not a server to deploy.
 *
 *   gcc -O2 -Wall -Wextra -o bin/wsfloor wsfloor.c
 *   bin/wsfloor --urls http://127.0.0.1:5083        (other arguments are ignored, as the bench passes the
 *                                                   same argument shape to every server)
 *
 * What it does not do, on purpose: UTF-8 validation, keep-alive pings, timeouts, any op other than echo, and
 * any check of the envelope beyond finding `"id":` and `"data":` (anything else gets a `bad_message` rej).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    MAX_HEAD = 8 * 1024,
    MAX_PAYLOAD = 1024 * 1024,
    MAX_FRAME_HEADER = 14,
    /* Past this much unsent output a connection is neither read nor parsed until the peer catches up. */
    OUT_HIGH = 1024 * 1024,
    READ_SIZE = 128 * 1024,
    /* A partial frame is at most MAX_PAYLOAD + MAX_FRAME_HEADER - 1 bytes; the rest is room for the next read. */
    MAX_IN = MAX_PAYLOAD + MAX_FRAME_HEADER + 64 * 1024,
    EVENTS = 256,
};

enum { ST_HTTP, ST_WS, ST_CLOSING };

/* Bytes [off, len) of p are pending; p is NULL while the buffer is empty so that idle connections hold nothing. */
struct buf {
    char *p;
    uint32_t off, len, cap;
};

struct conn {
    struct conn *prev, *next;
    int fd;
    uint8_t state;
    uint8_t in_message; /* a fragmented text message is being reassembled in msg */
    uint8_t stalled;    /* parsing stopped at OUT_HIGH with whole frames left in `in` */
    uint32_t events;
    struct buf in, out, msg;
};

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int s_epoll = -1;
static struct conn s_conns = { .prev = &s_conns, .next = &s_conns };
/* Reads land here when the connection has no partial frame, so the common case copies nothing. */
static char s_read[READ_SIZE];
/* Answers of one read are built here when the connection has no backlog, then sent with one send(). */
static struct buf s_scratch;
static unsigned long long s_next_session;
/* Closed to accept (and drop) a connection when out of descriptors, else the listener stays readable forever. */
static int s_spare_fd = -1;
static char s_listen_tag, s_signal_tag;

/* ---- SHA-1 (FIPS 180-4) and base64, only for Sec-WebSocket-Accept ---- */

static uint32_t rol32(uint32_t x, int n) { return x << n | x >> (32 - n); }

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void sha1(const void *data, size_t n, uint8_t out[20])
{
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; p += 64, left -= 64)
        sha1_block(h, p);

    uint8_t tail[128] = { 0 };
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tail_len == 128)
        sha1_block(h, tail + 64);

    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static size_t base64(const uint8_t *in, size_t n, char *out)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = T[v >> 6 & 63];
        out[o++] = T[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = T[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* ---- buffers ---- */

static int buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    if (b->off > 0) {
        /* Sent bytes at the front are reclaimed before growing, so a backlog never creeps upwards. */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra <= b->cap)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    if (cap > UINT32_MAX)
        return -1;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = (uint32_t)cap;
    return 0;
}

static int buf_append(struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, data, n);
    b->len += (uint32_t)n;
    return 0;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    *b = (struct buf){ 0 };
}

static size_t pending(const struct buf *b) { return b->len - b->off; }

/* Appends a server frame header for n payload bytes and returns where the payload goes (NULL: out of memory). */
static char *frame_begin(struct buf *o, int opcode, size_t n)
{
    if (buf_reserve(o, n + 10) < 0)
        return NULL;
    uint8_t *h = (uint8_t *)o->p + o->len;
    size_t header;
    h[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[1] = (uint8_t)n;
        header = 2;
    } else if (n <= 0xFFFF) {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        header = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        header = 10;
    }
    o->len += (uint32_t)(header + n);
    return (char *)h + header;
}

/* ---- connections ---- */

static void conn_drop(struct conn *c)
{
    /* close() also takes the descriptor out of the epoll set: it is never duplicated. */
    close(c->fd);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->msg);
    free(c);
}

/* Queues a close frame; whatever the peer sends after it is ignored. */
static void conn_fail(struct conn *c, struct buf *o, int code)
{
    char *p = frame_begin(o, 0x8, 2);
    if (p) {
        p[0] = (char)(code >> 8);
        p[1] = (char)code;
    }
    c->state = ST_CLOSING;
}

static void http_fail(struct conn *c, struct buf *o, const char *status, const char *reason)
{
    char text[256];
    int n = snprintf(text, sizeof text,
        "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
        status, strlen(reason) + 1, reason);
    if (n > 0 && (size_t)n < sizeof text)
        buf_append(o, text, (size_t)n);
    c->state = ST_CLOSING;
}

/* 0 or -1 (the connection is then to be dropped). */
static int conn_interest(struct conn *c)
{
    uint32_t want = 0;
    if (pending(&c->out) > 0)
        want |= EPOLLOUT;
    if (c->state != ST_CLOSING && !c->stalled && pending(&c->out) <= OUT_HIGH)
        want |= EPOLLIN;
    if (want == c->events)
        return 0;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(s_epoll, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        return -1;
    c->events = want;
    return 0;
}

/* ---- HTTP upgrade ---- */

static int is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* Bytes of the request head consumed (the whole input after a refusal), or 0 while it is incomplete. */
static size_t handshake(struct conn *c, const char *in, size_t len, struct buf *o)
{
    const char *end = memmem(in, len < MAX_HEAD ? len : MAX_HEAD, "\r\n\r\n", 4);
    if (!end) {
        if (len >= MAX_HEAD)
            http_fail(c, o, "431 Request Header Fields Too Large", "request head over 8 KiB");
        return c->state == ST_CLOSING ? len : 0;
    }

    const char *key = NULL;
    size_t key_len = 0;
    int protocol_offered = 0, protocol_ours = 0;
    /* end points at the blank line's CRLF pair, so every line, the request line included, ends in CRLF by then. */
    const char *line = (const char *)memmem(in, (size_t)(end + 2 - in), "\r\n", 2) + 2;
    while (line < end + 2) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            const char *name_end = colon;
            while (name_end > line && is_space(name_end[-1]))
                name_end--;
            const char *value = colon + 1, *value_end = eol;
            while (value < value_end && is_space(*value))
                value++;
            while (value_end > value && is_space(value_end[-1]))
                value_end--;
            size_t name_len = (size_t)(name_end - line), value_len = (size_t)(value_end - value);
            if (name_len == 17 && strncasecmp(line, "Sec-WebSocket-Key", 17) == 0) {
                key = value;
                key_len = value_len;
            } else if (name_len == 22 && strncasecmp(line, "Sec-WebSocket-Protocol", 22) == 0) {
                protocol_offered = 1;
                protocol_ours |= memmem(value, value_len, "connmsg.v1", 10) != NULL;
            }
        }
        line = eol + 2;
    }

    /* RFC 6455 §4.1: the key is 16 random bytes in base64, so 24 characters; that also bounds the hash input. */
    if (!key || key_len != 24) {
        http_fail(c, o, "400 Bad Request", "missing or bad Sec-WebSocket-Key");
        return len;
    }
    if (protocol_offered && !protocol_ours) {
        /* PROTOCOL.md §2, as the gateway and the middleware baseline do. */
        http_fail(c, o, "400 Bad Request", "subprotocol connmsg.v1 required");
        return len;
    }

    char source[24 + sizeof WS_GUID - 1];
    memcpy(source, key, 24);
    memcpy(source + 24, WS_GUID, sizeof WS_GUID - 1);
    uint8_t digest[20];
    sha1(source, sizeof source, digest);
    char accept[32];
    base64(digest, sizeof digest, accept);

    char text[512];
    int n = snprintf(text, sizeof text,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
        accept, protocol_ours ? "Sec-WebSocket-Protocol: connmsg.v1\r\n" : "");
    /* PROTOCOL.md §5.1, in the gateway's shape and in the same write as the 101. keepAlive 0: the floor never
       pings (it answers the client's). maxInFlight is nominal: every request is answered within its read. */
    int m = snprintf(text + n, sizeof text - (size_t)n,
        "{\"type\":\"ind\",\"topic\":\"$session\",\"data\":{\"id\":\"f%llu\",\"keepAlive\":0,\"maxMessage\":%d,\"maxInFlight\":256}}",
        ++s_next_session, MAX_PAYLOAD);
    char *payload;
    if (buf_append(o, text, (size_t)n) < 0 || !(payload = frame_begin(o, 0x1, (size_t)m))) {
        c->state = ST_CLOSING;
        return len;
    }
    memcpy(payload, text + n, (size_t)m);
    c->state = ST_WS;
    return (size_t)(end + 4 - in);
}

/* ---- messages ---- */

/* Length of the JSON number or string token at p (0 when there is none). */
static size_t id_token(const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (p[0] == '"') {
        for (size_t i = 1; i < n; i++) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                return i + 1;
            else if ((unsigned char)p[i] < 0x20)
                return 0;
        }
        return 0;
    }
    size_t i = 0;
    while (i < n && ((p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '+' || p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
        i++;
    return i;
}

static void on_text(struct conn *c, struct buf *o, const char *msg, size_t n)
{
    static const char REQ[] = "{\"type\":\"req\",";
    static const char CFM[] = "{\"type\":\"cfm\",\"id\":";
    static const char CFM_DATA[] = ",\"data\":";
    static const char REJ[] = "{\"type\":\"rej\",\"id\":";
    static const char REJ_TAIL[] = ",\"code\":\"bad_message\",\"reason\":\"the floor server answers only echo\"}";

    while (n > 0 && (is_space(msg[n - 1]) || msg[n - 1] == '\r' || msg[n - 1] == '\n'))
        n--;
    const char *end = msg + n;
    const char *id = memmem(msg, n, "\"id\":", 5);
    size_t id_len = 0;
    if (id) {
        id += 5;
        while (id < end && is_space(*id))
            id++;
        id_len = id_token(id, (size_t)(end - id));
    }

    const char *data = NULL;
    if (id_len > 0 && n > sizeof REQ && memcmp(msg, REQ, sizeof REQ - 1) == 0 && end[-1] == '}') {
        const char *after = id + id_len;
        const char *key = memmem(after, (size_t)(end - after), "\"data\":", 7);
        if (key && key + 7 < end - 1 && memmem(after, (size_t)(key - after), "\"op\":\"echo\"", 11))
            data = key + 7;
    }

    char *p;
    if (data) {
        size_t data_len = (size_t)(end - 1 - data);
        p = frame_begin(o, 0x1, sizeof CFM - 1 + id_len + sizeof CFM_DATA - 1 + data_len + 1);
        if (!p)
            goto oom;
        memcpy(p, CFM, sizeof CFM - 1);
        p += sizeof CFM - 1;
        memcpy(p, id, id_len);
        p += id_len;
        memcpy(p, CFM_DATA, sizeof CFM_DATA - 1);
        p += sizeof CFM_DATA - 1;
        memcpy(p, data, data_len);
        p[data_len] = '}';
        return;
    }

    if (id_len == 0) {
        id = "null";
        id_len = 4;
    }
    p = frame_begin(o, 0x1, sizeof REJ - 1 + id_len + sizeof REJ_TAIL - 1);
    if (!p)
        goto oom;
    memcpy(p, REJ, sizeof REJ - 1);
    memcpy(p + sizeof REJ - 1, id, id_len);
    memcpy(p + sizeof REJ - 1 + id_len, REJ_TAIL, sizeof REJ_TAIL - 1);
    return;
oom:
    conn_fail(c, o, 1011);
}

static void unmask(char *p, size_t n, const uint8_t mask[4])
{
    uint32_t m32;
    memcpy(&m32, mask, 4);
    /* Both halves hold the mask in memory order, so the 8-byte steps keep each byte on its mask byte. */
    uint64_t m64 = (uint64_t)m32 << 32 | m32;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= m64;
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] ^= (char)mask[i & 3];
}

/* Bytes of one whole frame consumed, or 0 when it is incomplete or the connection failed (state says which). */
static size_t on_frame(struct conn *c, char *in, size_t len, struct buf *o)
{
    if (len < 2)
        return 0;
    const uint8_t *b = (const uint8_t *)in;
    int fin = b[0] & 0x80, opcode = b[0] & 0x0F;
    if ((b[0] & 0x70) || !(b[1] & 0x80)) {
        conn_fail(c, o, 1002); /* reserved bits without an extension, or an unmasked client frame */
        return 0;
    }

    uint64_t n = b[1] & 0x7F;
    size_t header = 2;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = (uint64_t)b[2] << 8 | b[3];
        header = 4;
    } else if (n == 127) {
        if (len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | b[2 + i];
        header = 10;
    }

    /* Decided from the header alone, before any of the payload is buffered. */
    if (opcode >= 0x8 ? (opcode > 0xA || !fin || n > 125) : opcode > 0x2) {
        conn_fail(c, o, 1002);
        return 0;
    }
    if (n > MAX_PAYLOAD) {
        conn_fail(c, o, 1009);
        return 0;
    }
    size_t total = header + 4 + (size_t)n;
    if (len < total)
        return 0;

    char *payload = in + header + 4;
    unmask(payload, (size_t)n, b + header);
    switch (opcode) {
    case 0x1:
        if (c->in_message) {
            conn_fail(c, o, 1002);
            return 0;
        }
        if (fin)
            on_text(c, o, payload, (size_t)n);
        else if (buf_append(&c->msg, payload, (size_t)n) < 0)
            conn_fail(c, o, 1011);
        else
            c->in_message = 1;
        break;
    case 0x0:
        if (!c->in_message) {
            conn_fail(c, o, 1002);
            return 0;
        }
        if (c->msg.len + n > MAX_PAYLOAD) {
            conn_fail(c, o, 1009);
            return 0;
        }
        if (buf_append(&c->msg, payload, (size_t)n) < 0) {
            conn_fail(c, o, 1011);
            return 0;
        }
        if (fin) {
            on_text(c, o, c->msg.p, c->msg.len);
            buf_free(&c->msg);
            c->in_message = 0;
        }
        break;
    case 0x2:
        conn_fail(c, o, 1003); /* PROTOCOL.md §6: binary messages are refused */
        return 0;
    case 0x8: {
        if (n == 1) {
            conn_fail(c, o, 1002);
            return 0;
        }
        /* Echo the status code (not the reason) and close once it is written. */
        char *p = frame_begin(o, 0x8, n >= 2 ? 2 : 0);
        if (p && n >= 2)
            memcpy(p, payload, 2);
        c->state = ST_CLOSING;
        return total;
    }
    case 0x9: {
        char *p = frame_begin(o, 0xA, (size_t)n);
        if (!p) {
            conn_fail(c, o, 1011);
            return 0;
        }
        memcpy(p, payload, (size_t)n);
        break;
    }
    default: /* pong */
        break;
    }
    return total;
}

/* Bytes of in consumed: whole frames (and the head), stopping early at OUT_HIGH. */
static size_t parse(struct conn *c, char *in, size_t len, struct buf *o)
{
    size_t at = 0;
    if (c->state == ST_HTTP)
        at = handshake(c, in, len, o);
    while (c->state == ST_WS && at < len) {
        if (pending(o) > OUT_HIGH) {
            c->stalled = 1;
            return at;
        }
        size_t n = on_frame(c, in + at, len - at, o);
        if (n == 0)
            break;
        at += n;
    }
    c->stalled = 0;
    return at;
}

/* ---- I/O ---- */

/* Parses in (s_read, or the connection's own buffer when own), keeps the unparsed rest, and sends the answers with
   one send(). Returns -1 when the connection was dropped. */
static int conn_consume(struct conn *c, char *in, size_t len, int own)
{
    for (;;) {
        /* Behind a backlog, answers queue after it and go out on EPOLLOUT; otherwise they are built in s_scratch. */
        struct buf *o = pending(&c->out) > 0 ? &c->out : &s_scratch;
        size_t used = parse(c, in, len, o);
        size_t rest = c->state == ST_CLOSING ? 0 : len - used;
        if (own) {
            if (rest == 0) {
                buf_free(&c->in);
            } else if (used > 0) {
                memmove(c->in.p, c->in.p + used, rest);
                c->in.len = (uint32_t)rest;
            }
        } else if (rest > 0 && buf_append(&c->in, in + used, rest) < 0) {
            c->state = ST_CLOSING;
        }
        if (c->state == ST_CLOSING)
            c->stalled = 0;

        if (o == &s_scratch && s_scratch.len > 0) {
            ssize_t w = send(c->fd, s_scratch.p, s_scratch.len, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                s_scratch.len = 0;
                conn_drop(c);
                return -1;
            }
            size_t sent = w < 0 ? 0 : (size_t)w;
            int failed = sent < s_scratch.len && buf_append(&c->out, s_scratch.p + sent, s_scratch.len - sent) < 0;
            s_scratch.len = 0;
            if (failed) {
                conn_drop(c);
                return -1;
            }
        }

        /* Stalled, but the socket took the answers: nothing would wake this connection again, so go on here. */
        if (!c->stalled || pending(&c->out) > OUT_HIGH)
            break;
        in = c->in.p;
        len = c->in.len;
        own = 1;
    }

    if ((c->state == ST_CLOSING && pending(&c->out) == 0) || conn_interest(c) < 0) {
        conn_drop(c);
        return -1;
    }
    return 0;
}

static void on_readable(struct conn *c)
{
    int own = c->in.len > 0;
    ssize_t r;
    if (own) {
        /* A partial frame is waiting: read behind it so a large frame is never copied more than once. */
        size_t room = c->in.len < 16 * 1024 ? 16 * 1024 : c->in.len;
        if (c->in.len + room > MAX_IN)
            room = MAX_IN - c->in.len;
        if (room == 0 || buf_reserve(&c->in, room) < 0) {
            conn_drop(c);
            return;
        }
        r = recv(c->fd, c->in.p + c->in.len, room, 0);
    } else {
        r = recv(c->fd, s_read, sizeof s_read, 0);
    }

    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (r <= 0) {
        conn_drop(c);
        return;
    }
    if (own) {
        c->in.len += (uint32_t)r;
        conn_consume(c, c->in.p, c->in.len, 1);
    } else {
        conn_consume(c, s_read, (size_t)r, 0);
    }
}

/* Returns -1 when the connection was dropped. */
static int on_writable(struct conn *c)
{
    ssize_t w = send(c->fd, c->out.p + c->out.off, pending(&c->out), MSG_NOSIGNAL);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        conn_drop(c);
        return -1;
    }
    c->out.off += (uint32_t)w;
    if (pending(&c->out) == 0)
        buf_free(&c->out);
    if (c->state == ST_CLOSING && pending(&c->out) == 0) {
        conn_drop(c);
        return -1;
    }
    if (c->stalled && pending(&c->out) <= OUT_HIGH)
        return conn_consume(c, c->in.p, c->in.len, 1);
    if (conn_interest(c) < 0) {
        conn_drop(c);
        return -1;
    }
    return 0;
}

static void accept_all(int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && s_spare_fd >= 0) {
                close(s_spare_fd);
                fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                    close(fd);
                s_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            return;
        }

        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(s_epoll, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s_conns.next;
        c->prev = &s_conns;
        s_conns.next->prev = c;
        s_conns.next = c;
    }
}

/* ---- start-up ---- */

/* http://HOST:PORT[/...][;more]: IPv4 literals, localhost, and the any-address spellings of --urls. */
static int parse_url(const char *url, struct sockaddr_in *sa)
{
    if (strncasecmp(url, "http://", 7) != 0)
        return -1;
    const char *host = url + 7;
    const char *colon = strchr(host, ':');
    if (!colon || colon == host || (size_t)(colon - host) >= 64)
        return -1;
    char name[64];
    memcpy(name, host, (size_t)(colon - host));
    name[colon - host] = '\0';

    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/' && *end != ';'))
        return -1;

    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(name, "*") == 0 || strcmp(name, "+") == 0)
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcasecmp(name, "localhost") == 0)
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, name, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:5083";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--urls") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strncmp(argv[i], "--urls=", 7) == 0)
            url = argv[i] + 7;
    }
    struct sockaddr_in sa;
    if (parse_url(url, &sa) < 0) {
        fprintf(stderr, "wsfloor: cannot listen on '%s' (want http://IPv4-or-localhost:PORT)\n", url);
        return 2;
    }

    /* The connect scenario holds 10 000 connections. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
            lim.rlim_cur = 1 << 20;
            setrlimit(RLIMIT_NOFILE, &lim);
        }
    }
    getrlimit(RLIMIT_NOFILE, &lim);

    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    /* Taken as an epoll event rather than a handler, so the loop sees it and frees everything on its way out. */
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int sigfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listener, 4096) < 0) {
        fprintf(stderr, "wsfloor: cannot listen on %s: %s\n", url, strerror(errno));
        return 1;
    }

    s_epoll = epoll_create1(EPOLL_CLOEXEC);
    s_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s_listen_tag };
    struct epoll_event sev = { .events = EPOLLIN, .data.ptr = &s_signal_tag };
    if (s_epoll < 0 || sigfd < 0 || epoll_ctl(s_epoll, EPOLL_CTL_ADD, listener, &ev) < 0
        || epoll_ctl(s_epoll, EPOLL_CTL_ADD, sigfd, &sev) < 0) {
        fprintf(stderr, "wsfloor: epoll set-up failed: %s\n", strerror(errno));
        return 1;
    }

    char address[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, address, sizeof address);
    printf("wsfloor listening on http://%s:%d (pid %d, descriptor limit %llu)\n", address, ntohs(sa.sin_port),
        (int)getpid(), (unsigned long long)lim.rlim_cur);
    fflush(stdout);

    struct epoll_event events[EVENTS];
    int running = 1;
    while (running) {
        int n = epoll_wait(s_epoll, events, EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "wsfloor: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            uint32_t e = events[i].events;
            if (tag == &s_listen_tag) {
                accept_all(listener);
            } else if (tag == &s_signal_tag) {
                running = 0;
            } else {
                struct conn *c = tag;
                if (e & (EPOLLERR | EPOLLHUP)) {
                    conn_drop(c);
                    continue;
                }
                if ((e & EPOLLOUT) && on_writable(c) < 0)
                    continue;
                /* on_writable may have stalled the connection again: the interest, not the event, decides. */
                if ((e & EPOLLIN) && (c->events & EPOLLIN))
                    on_readable(c);
            }
        }
    }

    while (s_conns.next != &s_conns)
        conn_drop(s_conns.next);
    buf_free(&s_scratch);
    close(listener);
    close(sigfd);
    close(s_epoll);
    if (s_spare_fd >= 0)
        close(s_spare_fd);
    printf("wsfloor stopped\n");
    return 0;
}
