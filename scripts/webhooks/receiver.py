#!/usr/bin/env python3
"""A Standard Webhooks receiver for tests and benchmarks, written only with
Python's standard library, so that it checks the server's signatures with an
implementation independent of the server's own (hmac, hashlib, base64).

For every POST it appends one JSON line to --log: the webhook-id, the event's
type and reservationId, whether the signature verified under --secret,
whether the timestamp was within 5 minutes, whether the webhook-id had been
seen before (a replay or a retry: the receiver still answers 2xx, as the
standard asks, and does not process it twice), and the status it answered.

Behaviour, changed at run time by POST /_mode {"mode": ..., "delay": seconds}:
  ok      answer 204 at once
  fail    answer 500 ("receiver failing")
  slow    sleep `delay` seconds, then answer 204
Usage: receiver.py --port N --secret whsec_... --log FILE [--mode ok] [--delay 0]
Prints "receiver listening on PORT" once it accepts connections.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret, msg_id, timestamp, body, signatures):
    """True when one of the space-separated v1 signatures is HMAC-SHA256 of
    id.timestamp.body under the secret's base64 part."""
    key = base64.b64decode(secret[len("whsec_"):])
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class State:
    def __init__(self, mode, delay, log_path, secret):
        self.mode, self.delay, self.secret = mode, delay, secret
        self.seen = set()
        self.lock = threading.Lock()
        self.log = open(log_path, "a", buffering=1)

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")


def handler_for(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, text=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/_mode":
                change = json.loads(body)
                with state.lock:
                    state.mode = change.get("mode", state.mode)
                    state.delay = float(change.get("delay", state.delay))
                return self.answer(204)
            arrived = time.time()
            msg_id = self.headers.get("webhook-id", "")
            timestamp = self.headers.get("webhook-timestamp", "")
            signature = self.headers.get("webhook-signature", "")
            valid = verify(state.secret, msg_id, timestamp, body, signature)
            fresh = timestamp.isdigit() and abs(arrived - int(timestamp)) <= TOLERANCE_SECONDS
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            with state.lock:
                mode, delay = state.mode, state.delay
                duplicate = msg_id in state.seen
            entry = {"id": msg_id, "type": event.get("type"),
                     "reservationId": (event.get("data") or {}).get("reservationId"),
                     "valid": valid, "fresh": fresh, "duplicate": duplicate, "arrived": arrived, "mode": mode}
            if not valid or not fresh:
                entry["answered"] = 401
                state.record(entry)
                return self.answer(401, b"bad signature")
            if mode == "slow":
                state.record(dict(entry, answered=None, started=True))
                time.sleep(delay)
            if mode == "fail":
                entry["answered"] = 500
                state.record(entry)
                return self.answer(500, b"receiver failing")
            with state.lock:
                state.seen.add(msg_id)
            entry["answered"] = 204
            state.record(entry)
            try:
                self.answer(204)
            except OSError:
                pass  # the sender gave up (a timeout): it will send again

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--mode", default="ok", choices=["ok", "fail", "slow"])
    parser.add_argument("--delay", type=float, default=0)
    args = parser.parse_args()
    state = State(args.mode, args.delay, args.log, args.secret)
    # Earlier runs' ids count as seen, so a receiver restarted on the same log still spots duplicates.
    try:
        with open(args.log) as lines:
            for line in lines:
                entry = json.loads(line)
                if entry.get("answered") == 204:
                    state.seen.add(entry["id"])
    except FileNotFoundError:
        pass
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(state))
    print(f"receiver listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
