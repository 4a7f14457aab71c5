/*
 * twilio: everything Twilio-specific, and nothing that does I/O.
 *
 * Verifies X-Twilio-Signature, parses the inbound-message and status-callback webhooks
 * into plain structs, builds the Messages API request and classifies its response
 * (../shared/gateways.md sections 1-4). The server and the outbox do the I/O and call
 * these with bytes they already hold, so every rule here is a unit test away from a
 * real request.
 *
 * Privacy: every reason string here is static and safe to log and store; none ever
 * carries a phone number, a message body or a secret.
 */
#ifndef HOTLINE_TWILIO_H
#define HOTLINE_TWILIO_H

#include <stdbool.h>
#include <stddef.h>

#include "hotline/form.h"

/* ---- X-Twilio-Signature (gateways.md section 2) ---- */

#define TWILIO_SIGNATURE_LEN 28 /* base64 of a 20-byte HMAC-SHA1 */

/*
 * Computes the signature of exactly this URL (no port or encoding variants) and these
 * form params (NULL: none, as for GET or JSON requests): base64(HMAC-SHA1(auth_token,
 * url + name + value...)) with params sorted by name, then value, repeated identical
 * pairs counted once. Writes TWILIO_SIGNATURE_LEN characters and a NUL to out.
 * Returns 0, or -1 when out of memory.
 */
int twilio_signature(const char *auth_token, const char *url, const struct form *params,
                     char out[TWILIO_SIGNATURE_LEN + 1]);

/*
 * Whether signature (the X-Twilio-Signature header; NULL counts as invalid) is valid
 * for a form POST to url, the URL configured in Twilio including its query string.
 * Accepts the URL with the default port stripped or added (":443" https, ":80" http; a
 * non-default port is kept), and each of those with the query re-encoded as WHATWG URL
 * parsers do (so "'" and "%27" both validate). A fragment is never signed and is
 * ignored. Compares in constant time. False also when out of memory.
 */
bool twilio_signature_valid(const char *auth_token, const char *url, const struct form *params,
                            const char *signature);

/*
 * The same for a JSON body: url must carry bodySHA256=<lower-case hex SHA-256 of body>,
 * which must match body's len bytes, and the signature covers the URL alone.
 */
bool twilio_signature_valid_json(const char *auth_token, const char *url, const char *body,
                                 size_t len, const char *signature);

/* ---- Inbound message webhook (section 1) ---- */

#define TWILIO_SID_LEN 34
#define TWILIO_BODY_MAX 1600        /* characters, documented */
#define TWILIO_BODY_ACCEPT_MAX 3200 /* characters accepted, defensively */
#define TWILIO_ADDRESS_MAX 64       /* bytes of From/To: E.164 or "whatsapp:+1..." */

/*
 * One inbound text, gateway-neutral (Telnyx will fill the same struct). Every pointer
 * is borrowed from the form it was parsed from and dies with it: copy to keep.
 */
struct gateway_inbound {
    const char *gateway_id;   /* MessageSid: "SM"/"MM" + 32 hex; the dedupe key */
    const char *account;      /* AccountSid ("AC" + 32 hex), or NULL when absent */
    const char *from;         /* printable ASCII, 1..TWILIO_ADDRESS_MAX bytes */
    const char *to;           /* same */
    const char *body;         /* UTF-8, "" when empty or absent */
    size_t body_len;          /* bytes */
    const char *opt_out_type; /* OptOutType ("STOP"/"START"/"HELP"), or NULL */
    unsigned num_media;       /* 0 when absent */
    unsigned num_segments;    /* 0 when absent (unknown) */
};

/*
 * Fills *out from an inbound-message form. Unknown params are ignored. Returns 0, or -1
 * with *reason set to a static one-line reason suited to a 400 response: a missing or
 * malformed MessageSid, From or To, a malformed AccountSid, a Body over
 * TWILIO_BODY_ACCEPT_MAX characters, a non-numeric NumMedia/NumSegments, or any of
 * MessageSid, AccountSid, From, To, Body, NumMedia, NumSegments and OptOutType given
 * more than once (Twilio sends each once; a repeat is ambiguous, whichever copy wins).
 */
int twilio_parse_inbound(const struct form *form, struct gateway_inbound *out, const char **reason);

/* ---- Message status (section 4) ---- */

enum twilio_status {
    TWILIO_STATUS_UNKNOWN, /* a name this code does not know (Twilio adds some) */
    TWILIO_STATUS_ACCEPTED,
    TWILIO_STATUS_SCHEDULED,
    TWILIO_STATUS_QUEUED,
    TWILIO_STATUS_SENDING,
    TWILIO_STATUS_SENT,
    TWILIO_STATUS_PARTIALLY_DELIVERED,
    TWILIO_STATUS_DELIVERED,
    TWILIO_STATUS_UNDELIVERED,
    TWILIO_STATUS_FAILED,
    TWILIO_STATUS_CANCELED,
    TWILIO_STATUS_READ,
    TWILIO_STATUS_RECEIVING,
    TWILIO_STATUS_RECEIVED,
};

/* The status for Twilio's name ("delivered"...), or TWILIO_STATUS_UNKNOWN. */
enum twilio_status twilio_status_from_name(const char *name);

/* Twilio's name for status ("unknown" for TWILIO_STATUS_UNKNOWN). Static. */
const char *twilio_status_name(enum twilio_status status);

/* delivered, undelivered, failed, canceled and read: nothing but read may follow. */
bool twilio_status_is_terminal(enum twilio_status status);

/*
 * Whether a stored status should be replaced by an incoming one, since callbacks arrive
 * out of order: only forward (accepted/scheduled < queued < sending < sent <
 * partially_delivered < the terminal states), never away from a terminal state, except
 * delivered -> read. An unknown incoming status never advances.
 */
bool twilio_status_advances(enum twilio_status current, enum twilio_status incoming);

/* One status callback. Pointers are borrowed from the form. */
struct twilio_status_update {
    const char *gateway_id; /* MessageSid */
    const char *account;    /* AccountSid, or NULL when absent */
    enum twilio_status status;
    const char *status_name; /* MessageStatus as sent: [a-z_-], at most 32 bytes */
    int error_code;          /* ErrorCode, 0 when absent or empty */
};

/*
 * Fills *out from a status-callback form. Returns 0, or -1 with a static *reason for a
 * 400: missing or malformed MessageSid, MessageStatus or ErrorCode, or any of
 * MessageSid, AccountSid, MessageStatus, SmsStatus and ErrorCode given more than once.
 * An unknown but well-formed status parses with TWILIO_STATUS_UNKNOWN.
 */
int twilio_parse_status(const struct form *form, struct twilio_status_update *out,
                        const char **reason);

/* ---- Sending (section 3) ---- */

/* The Messages API call. Both strings are owned; clear with twilio_send_request_clear. */
struct twilio_send_request {
    char *url;  /* {api_base}/2010-04-01/Accounts/{sid}/Messages.json */
    char *body; /* To, StatusCallback, From, Body, form-encoded as the helper libraries do */
};

/*
 * Builds the request that sends text from `from` to `to`. api_base is "https://host" (a
 * trailing '/' is dropped); account_sid must be "AC" + 32 hex (it goes into the path);
 * status_callback may be NULL to leave the field out. The caller sends it as POST with
 * Basic auth (account_sid:auth_token) and "Content-Type:
 * application/x-www-form-urlencoded". Returns 0, or -1 on a bad argument or out of
 * memory (out is then zeroed).
 */
int twilio_send_request_build(struct twilio_send_request *out, const char *api_base,
                              const char *account_sid, const char *from, const char *to,
                              const char *text, const char *status_callback);

/* Frees both strings and zeroes *req; safe on a zeroed or already cleared request. */
void twilio_send_request_clear(struct twilio_send_request *req);

enum twilio_outcome {
    TWILIO_SENT,      /* accepted by Twilio: wait for status callbacks */
    TWILIO_RETRY,     /* try again later, with backoff and jitter */
    TWILIO_PERMANENT, /* end the job with the reason */
};

/* Flags refining an outcome. */
#define TWILIO_F_AUTH 0x01u      /* 401/403/20003: credentials wrong; alert the operator */
#define TWILIO_F_OPTED_OUT 0x02u /* 21610: recipient sent STOP; add to the suppression list */
#define TWILIO_F_CONFIG                                                                            \
    0x04u                         /* account or sender setup wrong (geo, trial, registration,      \
                                   * API base); alert the operator */
#define TWILIO_F_RETRY_ONCE 0x08u /* 30003: at most one delayed retry */
#define TWILIO_F_THROTTLE 0x10u   /* sender queue full: slow this sender down */
#define TWILIO_F_MAYBE_SENT                                                                        \
    0x20u /* 5xx/no response: Twilio may have sent it; a retry may                                 \
           * duplicate */

struct twilio_send_result {
    enum twilio_outcome outcome;
    unsigned flags;               /* TWILIO_F_* */
    long http_status;             /* as given; 0 = no response */
    int error_code;               /* Twilio's code, 0 when none */
    const char *reason;           /* static, short, safe to log and store */
    char sid[TWILIO_SID_LEN + 1]; /* TWILIO_SENT: the new "SM..." sid, "" if the 2xx lacked one */
    char status[24];              /* TWILIO_SENT: "queued"/"accepted"..., else "" */
};

/*
 * Classifies a Messages API response: http_status 0 means no response at all
 * (timeout or connection error); body (len bytes, may be NULL) is the JSON Twilio sent.
 * 2xx -> SENT; 429, 5xx, 408, no response and the retryable codes -> RETRY; any other
 * status -> PERMANENT with the code's reason. Never fails.
 */
void twilio_send_classify(long http_status, const char *body, size_t len,
                          struct twilio_send_result *out);

/*
 * Classifies a Twilio error code alone, as found in an error response or a status
 * callback's ErrorCode: returns RETRY or PERMANENT, ORs TWILIO_F_* into *flags (may be
 * NULL) and sets *reason (may be NULL) to a static string. Unknown codes are PERMANENT.
 */
enum twilio_outcome twilio_error_classify(int code, unsigned *flags, const char **reason);

#endif
