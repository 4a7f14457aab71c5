/*
 * bench_ceiling: the ceiling of the service benchmark. A bare libevent evhttp server, one
 * thread like hotline's loop, that answers every POST with 200 and the same empty TwiML
 * body hotline sends after a commit, and does nothing else (no signature check, no form
 * parsing, no disk). Whatever hotline reaches is reported as a share of what this reaches
 * with the same load tool and connection count.
 *
 * Usage: bench_ceiling PORT   (listens on 127.0.0.1; SIGINT/SIGTERM stop it)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static const char twiml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evbuffer_add_reference(out, twiml, sizeof twiml - 1, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/xml; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: bench_ceiling PORT\n"
                "Bare evhttp server on 127.0.0.1:PORT: every POST gets 200 with an empty TwiML\n"
                "<Response></Response> (text/xml), like hotline after a commit; nothing else.\n");
        return argc == 2 ? 0 : 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "bench_ceiling: bad port '%s'\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
        fprintf(stderr, "bench_ceiling: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    struct event *ev_int = evsignal_new(base, SIGINT, on_signal, base);
    struct event *ev_term = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(ev_int, NULL);
    event_add(ev_term, NULL);
    fprintf(stderr, "bench_ceiling: listening on 127.0.0.1:%ld\n", port);
    event_base_dispatch(base);
    event_free(ev_int);
    event_free(ev_term);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
