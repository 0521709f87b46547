#!/usr/bin/env python3
"""Clients that start an application upload and then stop sending, for bench/uploads.sh.

Each of N connections sends the request head (Content-Length of a complete body), the text
fields and the first SEND bytes of a `cv` part (below the 5 MiB cap, so no 413), then sends
nothing more for HOLD seconds. Reports, per connection, whether and when the server answered
or closed it. What the server buffered for these requests stays in its memory until then.

    python3 bench/stalled_uploads.py --url http://127.0.0.1:18080/api/v1/offers/<id>/applications \
        --connections 32 --send 4718592 --hold 30
"""

import argparse
import selectors
import socket
import sys
import time
import urllib.parse

BOUNDARY = "passerelle-bench-stalled-4c1d"


def field(name, value):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--send", type=int, default=4718592, help="cv bytes sent before stalling (default 4.5 MiB)")
    p.add_argument("--total", type=int, default=5000000, help="cv size declared in Content-Length")
    p.add_argument("--hold", type=float, default=30.0, help="seconds to stall (default 30)")
    args = p.parse_args()

    u = urllib.parse.urlsplit(args.url)
    fields = b"".join(field(k, v) for k, v in [
        ("first_name", "Camille"), ("last_name", "Lente"), ("email", "lente@example.org"),
        ("education_level", "master_1"), ("school", "UGA"), ("field_of_study", "Droit public"),
        ("available_from", "2027-03-01"), ("available_until", "2027-08-31"),
        ("consent_privacy", "true"), ("privacy_notice_version", "2026-11")])
    part_head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\n"
                 f"Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(fields) + len(part_head) + args.total + len(tail)
    head = (f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n").encode()
    start_of_pdf = b"%PDF-1.7\n%" + b"\x80" * (args.send - 10)

    # Non-blocking sends: a server that does not read a body yet (all its upload slots taken)
    # must not stop this script from opening the other connections.
    sel = selectors.DefaultSelector()
    socks, pending, sent = [], {}, {}
    for i in range(args.connections):
        s = socket.create_connection((u.hostname, u.port or 80))
        s.setblocking(False)
        pending[i] = memoryview(head + fields + part_head + start_of_pdf)
        sent[i] = 0
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
        socks.append(s)
    sent_at = time.monotonic()
    print(f"{args.connections} connections, {args.send} cv bytes to send on each, then nothing", flush=True)
    closed = {}
    while len(closed) < len(socks):
        left = args.hold - (time.monotonic() - sent_at)
        if left <= 0:
            break
        for key, events in sel.select(timeout=left):
            i = key.data
            if events & selectors.EVENT_WRITE and i in pending:
                try:
                    n = key.fileobj.send(pending[i][:262144])
                except BlockingIOError:
                    n = 0
                except ConnectionError as e:
                    closed.setdefault(i, (time.monotonic() - sent_at, type(e).__name__ + " while sending"))
                    del pending[i]
                    sel.unregister(key.fileobj)
                    continue
                sent[i] += n
                pending[i] = pending[i][n:]
                if not len(pending[i]):
                    del pending[i]
                    sel.modify(key.fileobj, selectors.EVENT_READ, i)
            if not events & selectors.EVENT_READ:
                continue
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionError as e:
                data, why = b"", type(e).__name__
            else:
                why = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed"
            if i not in closed:
                closed[i] = (time.monotonic() - sent_at, why)
            pending.pop(i, None)
            sel.unregister(key.fileobj)
    for s in socks:
        s.close()
    if closed:
        whys = {}
        for t, why in closed.values():
            whys.setdefault(why, []).append(t)
        for why, ts in sorted(whys.items()):
            print(f"  {len(ts)} answered or closed by the server ({why}) after {min(ts):.1f} to {max(ts):.1f} s")
    full = sum(1 for i in sent if sent[i] == len(head + fields + part_head + start_of_pdf))
    print(f"  {full} of {len(socks)} sent all {args.send} cv bytes before the server answered or the hold ended")
    print(f"  {len(socks) - len(closed)} still open, waiting for the body, after {args.hold:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
