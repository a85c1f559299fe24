#!/usr/bin/env python3
"""Buyers for the failover and backup drills: each worker creates a user,
joins the line of a concert, waits to be admitted, charges, holds a free seat
and pays, again and again, until the stop file appears.

Every request is logged as one line `epoch_seconds status route` to LOG, and
every payment answered 201 as `epoch_seconds payment_id reservation_id` to
PAID: the client's record that the drills compare with the database.

usage: load.py URL CONCERT_IDS WORKERS LOG PAID STOPFILE
"""
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

url, concerts, workers, log_path, paid_path, stop_path = sys.argv[1:7]
concerts = [int(c) for c in concerts.split(",")]
lock = threading.Lock()
log = open(log_path, "a", buffering=1)
paid = open(paid_path, "a", buffering=1)


def call(method, path, body=None, token=None, route=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    except Exception:  # refused, reset, timed out: the service did not answer
        status, text = 0, b""
    with lock:
        log.write(f"{time.time():.3f} {status} {route or path}\n")
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, {}


def stopped():
    return os.path.exists(stop_path)


def buyer():
    while not stopped():
        status, user = call("POST", "/api/users", {"name": "drill"}, route="POST /api/users")
        if status != 201:
            time.sleep(0.2)
            continue
        concert = random.choice(concerts)
        key = user.get("apiKey")
        body = {"concertId": concert} if key else {"concertId": concert, "userId": user["userId"]}
        status, ticket = call("POST", "/api/queue/tokens", body, token=key, route="POST /api/queue/tokens")
        if status not in (200, 201):
            time.sleep(0.2)
            continue
        token = ticket["token"]
        while ticket.get("status") != "ACTIVE" and not stopped():
            time.sleep(0.3)
            status, answer = call("GET", "/api/queue/tokens/me", token=token, route="GET /api/queue/tokens/me")
            if status == 200:
                ticket = answer
            elif 400 <= status < 500:
                break
        if ticket.get("status") != "ACTIVE":
            continue
        while not stopped():
            status, _ = call("POST", "/api/balance/charge", {"amount": 500000}, token=token, route="POST /api/balance/charge")
            if status == 200:
                break
            time.sleep(0.2)
        reservation = None
        while reservation is None and not stopped():
            status, dates = call("GET", f"/api/concerts/{concert}/dates", token=token, route="GET dates")
            if status != 200:
                if 400 <= status < 500:
                    break
                time.sleep(0.2)
                continue
            if not dates.get("dates"):
                break
            date = random.choice(dates["dates"])["dateId"]
            status, seats = call("GET", f"/api/concerts/{concert}/dates/{date}/seats", token=token, route="GET seats")
            if status != 200 or not seats.get("seats"):
                time.sleep(0.1)
                continue
            seat = random.choice(seats["seats"])["seatNo"]
            status, held = call("POST", "/api/reservations", {"concertId": concert, "dateId": date, "seatNo": seat},
                                token=token, route="POST /api/reservations")
            if status in (200, 201):
                reservation = held["reservationId"]
            elif status in (401, 403, 410):
                break
        if reservation is None:
            continue
        # Retried with one Idempotency-Key until it is answered: a 503 in a
        # failover may or may not have paid; the replay tells.
        key = f"pay-{reservation}"
        while not stopped():
            data = json.dumps({"reservationId": reservation}).encode()
            request = urllib.request.Request(url + "/api/payments", data=data, method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", "Bearer " + token)
            request.add_header("Idempotency-Key", key)
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, payment = answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                status, payment = error.code, {}
            except Exception:
                status, payment = 0, {}
            now = time.time()
            with lock:
                log.write(f"{now:.3f} {status} POST /api/payments\n")
                if status == 201:
                    paid.write(f"{now:.3f} {payment['paymentId']} {reservation}\n")
            if status == 201 or 400 <= status < 500:
                break
            time.sleep(0.2)


threads = [threading.Thread(target=buyer, daemon=True) for _ in range(int(workers))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
