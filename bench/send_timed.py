#!/usr/bin/env python3
"""Send the webhooks of a gen_requests.py file at a fixed rate, one at a time, and write
when each one left:

    <send time, Unix seconds> <HTTP status> <From> <MessageSid>

Request i is due at t0 + i/RATE (open loop: a slow answer delays the next send, which is
then sent at once, but the recorded time is always the moment the request is written, so
a latency measured from it never includes this tool's own lateness; "late" sends are
counted on stderr). One keep-alive HTTP/1.1 connection. Used by bench/escalation.sh to
time webhook -> page: the mock's page arrival minus this send time, matched by From.
"""
import argparse
import http.client
import sys
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="hotline's base URL, http://HOST:PORT")
    ap.add_argument("-f", "--requests", required=True, help="a gen_requests.py file")
    ap.add_argument("-r", "--rate", type=float, default=20.0, help="requests per second")
    ap.add_argument("-o", "--out", default="-", help="where the send times go")
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    lines = [line.rstrip("\n").split("\t") for line in open(a.requests, encoding="utf-8")]
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.connect()
    late = bad = 0
    t0 = time.time() + 0.05
    for i, (path, sig, body) in enumerate(lines):
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        due = t0 + i / a.rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.01:
            late += 1
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sig != "-":
            headers["X-Twilio-Signature"] = sig
        sent = time.time()
        conn.request("POST", path, body=body.encode(), headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            bad += 1
        out.write("%.6f %d %s %s\n" % (sent, resp.status, form["From"][0],
                                        form["MessageSid"][0]))
    if out is not sys.stdout:
        out.close()
    print("send_timed: %d sent in %.1f s, %d not 200, %d late by over 10 ms"
          % (len(lines), time.time() - t0, bad, late), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
