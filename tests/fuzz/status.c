/*
 * fuzz status: the delivery-status callback (POST /webhooks/twilio/status) and the two
 * other things a gateway's bytes decide about a sent reply.
 *
 * The input is used three ways: as the callback's form body (form_parse, then
 * twilio_parse_status); as the JSON a Messages API call answered, with the HTTP status
 * taken from the first two bytes (twilio_send_classify); and, when the form parses, its
 * status is run through the forward-only ordering against every known state.
 *
 * Properties: a parsed status name is [a-z_-]{1,32} and maps back to the same enum;
 * nothing but read ever follows a terminal state; a classified send always has a reason
 * and a sid that is either empty or 34 characters.
 */
#include "fuzz.h"

#include "hotline/form.h"
#include "hotline/twilio.h"

static const struct form_limits limits = {256, 64, 16384};

#define STATUS_LAST TWILIO_STATUS_RECEIVED

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct form *f = form_parse((const char *)data, size, &limits, &why);
    if (f) {
        struct twilio_status_update st;
        if (twilio_parse_status(f, &st, &why) == 0) {
            size_t n = strlen(st.status_name);
            FUZZ_CHECK(n >= 1 && n <= 32);
            for (size_t i = 0; i < n; i++) {
                char c = st.status_name[i];
                FUZZ_CHECK((c >= 'a' && c <= 'z') || c == '_' || c == '-');
            }
            FUZZ_CHECK(twilio_status_from_name(st.status_name) == st.status);
            FUZZ_CHECK(st.error_code >= 0);
            for (int cur = 0; cur <= (int)STATUS_LAST; cur++) {
                bool adv = twilio_status_advances((enum twilio_status)cur, st.status);
                if (adv && twilio_status_is_terminal((enum twilio_status)cur))
                    FUZZ_CHECK(cur == TWILIO_STATUS_DELIVERED && st.status == TWILIO_STATUS_READ);
                if (st.status == TWILIO_STATUS_UNKNOWN)
                    FUZZ_CHECK(!adv);
            }
        } else {
            FUZZ_CHECK(why);
        }
        form_free(f);
    }

    long http_status = size >= 2 ? (long)(data[0] << 8 | data[1]) % 700 : 0;
    struct twilio_send_result r;
    twilio_send_classify(http_status, size >= 2 ? (const char *)data + 2 : NULL,
                         size >= 2 ? size - 2 : 0, &r);
    FUZZ_CHECK(r.reason);
    FUZZ_CHECK(r.sid[0] == '\0' || strlen(r.sid) == TWILIO_SID_LEN);
    FUZZ_CHECK(strlen(r.status) < sizeof r.status);
    return 0;
}
