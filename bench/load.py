#!/usr/bin/env python3
"""Loads generated offers into a running Passerelle through the real staff API.

For each offer: POST /api/v1/staff/offers (201, ETag), then
POST /api/v1/staff/offers/{id}/publish with If-Match: <that ETag>. Runs on a pool of
threads (urllib only, no third-party package). Starts nothing: the server must be up.

    python3 bench/load.py --url http://127.0.0.1:18080 --offers /tmp/offers.json \
        --email manager@demo.passerelle.example --password demo-manager-passphrase
    python3 bench/load.py --url ... --token "$ACCESS_TOKEN" --offers ...

Logs in once (mind the login throttle: 5 failures per address), so the access token must
outlive the load: run the server with ACCESS_TOKEN_TTL_SECONDS=3600.
Exit status 0 only when every offer was created and published.
"""

import argparse
import concurrent.futures as cf
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def request(url, method="GET", body=None, headers=None, timeout=30):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def login(base, email, password):
    status, _, body = request(f"{base}/api/v1/auth/login", "POST", {"email": email, "password": password})
    if status != 200:
        sys.exit(f"login failed: {status} {body[:300]!r}")
    return json.loads(body)["access_token"]


class Loader:
    def __init__(self, base, token, retries=3):
        self.base = base
        self.auth = {"Authorization": f"Bearer {token}"}
        self.retries = retries
        self.lock = threading.Lock()
        self.done = 0
        self.skipped = 0
        self.create_500 = 0
        self.failures = []

    def call(self, url, method, body=None, headers=None):
        # 503 (pool timeout) and connection errors are retried; anything else is final.
        for attempt in range(self.retries + 1):
            try:
                status, h, raw = request(url, method, body, {**self.auth, **(headers or {})})
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                status, h, raw = None, {}, str(e).encode()
            if status not in (None, 503) or attempt == self.retries:
                return status, h, raw
            time.sleep(0.2 * (attempt + 1))
        return status, h, raw

    def one(self, offer):
        ref = offer["reference"]
        for attempt in range(self.retries + 1):
            status, h, raw = self.call(f"{self.base}/api/v1/staff/offers", "POST", offer)
            if status != 500:
                break
            # Two concurrent creates with the same title race on the slug: the loser's
            # transaction is rolled back with a 500 (unique violation of offers_slug_key,
            # see docs/PERFORMANCE.md). Nothing was written, so retrying is safe.
            with self.lock:
                self.create_500 += 1
            time.sleep(0.05 * (attempt + 1))
        if status == 409:
            # The reference exists: loaded by an earlier run. Left as it is.
            with self.lock:
                self.skipped += 1
            return self.count(None)
        if status != 201:
            return self.count(f"{ref}: create {status} {raw[:300]!r}")
        created = json.loads(raw)
        etag = next((v for k, v in h.items() if k.lower() == "etag"), None)
        status, _, raw = self.call(
            f"{self.base}/api/v1/staff/offers/{created['id']}/publish", "POST", None, {"If-Match": etag}
        )
        if status != 200:
            return self.count(f"{ref}: publish {status} {raw[:300]!r}")
        return self.count(None)

    def count(self, failure):
        with self.lock:
            self.done += 1
            if failure:
                self.failures.append(failure)
                if len(self.failures) <= 5:
                    print(failure, file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:18080")
    p.add_argument("--offers", required=True, help="JSON array written by generate_offers.py")
    p.add_argument("--token", help="an admin or manager access token")
    p.add_argument("--email", default="manager@demo.passerelle.example")
    p.add_argument("--password", default="demo-manager-passphrase")
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()

    base = args.url.rstrip("/")
    token = args.token or login(base, args.email, args.password)
    with open(args.offers, encoding="utf-8") as f:
        offers = json.load(f)
    loader = Loader(base, token)
    started = time.monotonic()
    with cf.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futures = [pool.submit(loader.one, o) for o in offers]
        last = 0.0
        for _ in cf.as_completed(futures):
            now = time.monotonic()
            if now - last > 15:
                last = now
                print(f"  {loader.done}/{len(offers)} offers, {now - started:.0f} s", file=sys.stderr)
    elapsed = time.monotonic() - started
    ok = len(offers) - len(loader.failures)
    print(f"loaded {ok}/{len(offers)} offers (create + publish) in {elapsed:.1f} s, "
          f"{ok / elapsed:.1f} offers/s, {2 * ok / elapsed:.1f} requests/s, concurrency {args.concurrency}")
    print(f"creates answered 500 and retried (slug race): {loader.create_500}; "
          f"already present (409, skipped): {loader.skipped}")
    if loader.failures:
        print(f"{len(loader.failures)} failures", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
