#!/usr/bin/env python3
"""Write N signed Twilio SMS webhooks for bench_loadgen, one per line:

    PATH <TAB> X-Twilio-Signature <TAB> form body

Each request carries the parameter set Twilio posts for an inbound SMS (MessageSid,
SmsSid, AccountSid, From, To, Body, NumMedia, NumSegments, From*/To* geo fields...),
with a unique MessageSid (SM + 32 hex, from a seeded random stream: use a different
--seed per file to keep files disjoint), a Body cycling through the dev set
(tests/data/eval-dev.jsonl), and a From drawn from a pool of numbers. The signature is
base64(HMAC-SHA1(token, URL + name+value of every param sorted by name)), URL being
PUBLIC_URL + /webhooks/twilio/messages (shared/gateways.md section 2).

Texts labelled opt_out in the dev set (STOP, "take me off your list"...) are left out by
default: an opted-out sender gets no more replies, which would blur the benchmark's
"one reply per accepted webhook" check. --with-opt-outs keeps them. Without --token
(local mode) the signature column is "-".

--kind picks the texts (bench/escalation.sh uses both):
  all     every text of the dev set (the default, as above);
  faq     only texts that escalate nothing: the dev set's escalate "none", without the
          fallback texts (two in a row open a standard escalation);
  urgent  only the dev set's urgent texts (suicide, overdose, urgent medical), each from
          its own texter, +1999 followed by 7 digits of the request's index plus
          --from-base: every one opens its own escalation and pages, and a page (its
          "Texter +1999..." part) names the request it belongs to.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DEV = os.path.join(HERE, "..", "tests", "data", "eval-dev.jsonl")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, required=True, help="number of requests")
    ap.add_argument("--public-url", required=True,
                    help="HOTLINE_PUBLIC_URL of the server, e.g. http://127.0.0.1:8080")
    ap.add_argument("--sid", required=True, help="TWILIO_ACCOUNT_SID (AC + 32 hex)")
    ap.add_argument("--token", default="", help="TWILIO_AUTH_TOKEN (none: unsigned, '-')")
    ap.add_argument("--to", default="+19497633440", help="the hotline's number (HOTLINE_FROM)")
    ap.add_argument("--senders", type=int, default=2000, help="size of the From pool")
    ap.add_argument("--seed", type=int, default=1, help="random seed (MessageSids, From)")
    ap.add_argument("--dev", default=DEV, help="the texts (JSON lines with a 'body')")
    ap.add_argument("--with-opt-outs", action="store_true",
                    help="keep the dev set's opt_out texts")
    ap.add_argument("--kind", choices=("all", "faq", "urgent"), default="all",
                    help="which texts: all, faq (escalate nothing), urgent (one texter each)")
    ap.add_argument("--from-base", type=int, default=0,
                    help="--kind urgent: first texter number's 7-digit suffix")
    ap.add_argument("-o", "--out", default="-", help="output file (default stdout)")
    a = ap.parse_args()

    rows = [json.loads(line) for line in open(a.dev, encoding="utf-8") if line.strip()]
    if a.kind == "faq":
        rows = [r for r in rows if r.get("escalate") == "none" and r.get("intent") != "fallback"]
    elif a.kind == "urgent":
        rows = [r for r in rows if r.get("escalate") == "urgent"]
    bodies = [r["body"] for r in rows if a.with_opt_outs or r.get("intent") != "opt_out"]
    if a.kind == "urgent" and a.from_base + a.n > 10**7:
        ap.error("--kind urgent: --from-base + -n must stay under 10,000,000")
    rng = random.Random(a.seed)
    senders = sorted({"+1%03d555%04d" % (rng.randrange(201, 990), rng.randrange(10000))
                      for _ in range(a.senders)})
    base = a.public_url.rstrip("/")
    path = urllib.parse.urlsplit(base).path + "/webhooks/twilio/messages"
    url = base + "/webhooks/twilio/messages"
    key = a.token.encode()
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    seen = set()
    quoted = {}  # value -> its form encoding; the same few values repeat

    def q(v):
        r = quoted.get(v)
        if r is None:
            r = quoted[v] = urllib.parse.quote_plus(v)
        return r

    for i in range(a.n):
        sid = "SM%032x" % rng.getrandbits(128)
        while sid in seen:
            sid = "SM%032x" % rng.getrandbits(128)
        seen.add(sid)
        # In the order Twilio sends them; the signature sorts them.
        params = (
            ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "0"),
            ("ToCity", "IRVINE"), ("FromZip", ""), ("SmsSid", sid), ("FromState", ""),
            ("SmsStatus", "received"), ("FromCity", ""), ("Body", bodies[i % len(bodies)]),
            ("FromCountry", "US"), ("To", a.to), ("ToZip", "92618"), ("NumSegments", "1"),
            ("MessageSid", sid), ("AccountSid", a.sid),
            ("From", "+1999%07d" % (a.from_base + i) if a.kind == "urgent" else rng.choice(senders)),
            ("ApiVersion", "2010-04-01"),
        )
        if key:
            s = url + "".join(k + v for k, v in sorted(params))
            sig = base64.b64encode(hmac.digest(key, s.encode(), "sha1")).decode()
        else:
            sig = "-"
        form = "&".join(k + "=" + (v if k.endswith("Sid") else q(v)) for k, v in params)
        out.write("%s\t%s\t%s\n" % (path, sig, form))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
