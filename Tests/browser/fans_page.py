#!/usr/bin/python3
"""The fans' page in a real browser (Debian's chromium, driven by Selenium
through chromium-driver) against a real `boxoffice serve` and database.

One fan buys a ticket end to end: creates an account, joins the line behind
three others, watches the place change without reloading while the others
leave, is admitted, picks a date, meets a seat someone else took between the
map and the click, holds another seat with the keyboard, sees its countdown,
holds a third and cancels it (free again on the map and in the database), is
told the balance is too low, adds money, is told a hold whose time ran out
has expired, pays and sees the receipt. Then the database is asked: one
payment, the seat SOLD to the fan, audit clean.

Then the same fan joins again with the event stream broken (the page's
fetch of the stream fails, from JavaScript): the page says it is
reconnecting, its polls move the place without a reload, it goes live again
once the stream answers and stops polling, and the stream lets it in. Its
shopping time ends (in the database) and the page says so in words.

    Tests/browser/fans_page.py --binary .build/debug/boxoffice \
        --pg "host=/tmp/x port=5432 user=postgres" --template boxoffice_template \
        [--screenshots docs/screenshots]

Screenshots go to a temporary folder unless --screenshots names one.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHECKS = []


def check(ok, what):
    CHECKS.append((bool(ok), what))
    print(("ok     " if ok else "FAILED ") + what, flush=True)
    if not ok:
        raise AssertionError(what)


# ---- the server and its database ---------------------------------------------------


def psql(pg, dbname, sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", f"{pg} dbname={dbname}", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Server:
    def __init__(self, binary, pg, dbname, env):
        self.lines = []
        environment = dict(os.environ)
        environment.update(env)
        environment.update({
            "DATABASE_URL": f"{pg} dbname={dbname}".replace("user=postgres", "user=boxoffice_api"),
            "MIGRATE_DATABASE_URL": f"{pg} dbname={dbname}",
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "LOG_LEVEL": "warning",
        })
        self.process = subprocess.Popen([binary, "serve"], env=environment, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        self.base = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            found = re.search(r"boxoffice listening on (http://\S+)", line)
            if found:
                self.base = found.group(1)
                break
        if not self.base:
            self.stop()
            raise RuntimeError("boxoffice serve did not start:\n" + "".join(self.lines[-30:]))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode() or "null")


def other_fan(base, name, concert_id):
    """A user who joins the line through the API: (userId, token)."""
    status, user = call(base, "POST", "/api/users", {"name": name})
    check(status == 201, f"{name} has an account")
    status, ticket = call(base, "POST", "/api/queue/tokens", {"concertId": concert_id, "userId": user["userId"]},
                          token=user.get("apiKey"))
    check(status == 201, f"{name} joined the line")
    return user["userId"], ticket["token"]


def wait_status(base, token, status, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        code, ticket = call(base, "GET", "/api/queue/tokens/me", token=token)
        if code == 200 and ticket["status"] == status:
            return ticket
        time.sleep(0.3)
    raise AssertionError(f"ticket not {status} within {seconds} s")


# ---- the browser --------------------------------------------------------------------


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1100,1000", "--lang=en-US", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


# The page's fetch() of the event stream, broken from JavaScript: while
# window.__events.broken, a request for the stream gets a 503 UNAVAILABLE (odd
# tries) or a network failure (even tries); every other request goes through.
# It counts the stream's tries and the polls of the ticket. With
# window.__events.expireTurn, a request for a date's seats gets 410
# TOKEN_EXPIRED, as when the shopping time has run out.
BREAK_THE_STREAM = """
window.__events = {broken: true, tries: 0, polls: 0, expireTurn: false};
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  const method = ((init && init.method) || "GET").toUpperCase();
  if (url.endsWith("/api/queue/tokens/me/events")) {
    window.__events.tries += 1;
    if (window.__events.broken) {
      if (window.__events.tries % 2) {
        return Promise.resolve(new Response(JSON.stringify({error: {code: "UNAVAILABLE", message: "test"}}),
          {status: 503, headers: {"Content-Type": "application/json"}}));
      }
      return Promise.reject(new TypeError("Failed to fetch"));
    }
  } else if (window.__events.expireTurn && url.endsWith("/seats")) {
    return Promise.resolve(new Response(
      JSON.stringify({error: {code: "TOKEN_EXPIRED", message: "token expired", detail: "test"}}),
      {status: 410, headers: {"Content-Type": "application/json"}}));
  } else if (url.endsWith("/api/queue/tokens/me") && method === "GET") {
    window.__events.polls += 1;
  }
  return realFetch(input, init);
};
"""


def stream_down(driver, wait, base, pg, dbname, concert, c_token, visible, text):
    """The fan, after the receipt, joins again with the event stream failing:
    the page says it is reconnecting, polls, and the polls move the place;
    once the stream answers again the page is live, stops polling, and the
    stream lets the fan in. Then the shopping time ends and the page says so."""
    concert_id = concert["concertId"]
    events = lambda: driver.execute_script("return window.__events")  # noqa: E731
    live_text = lambda: driver.find_element(By.ID, "live-text").get_attribute("textContent")  # noqa: E731

    driver.find_element(By.ID, "receipt-done").click()
    wait.until(lambda d: visible("concerts-view") and d.find_elements(By.CSS_SELECTOR, "#concert-list li"))
    # Cleo still shops; Dan takes the other place (the cap is 2) and Eve waits: ours will be second.
    _, d_token = other_fan(base, "Dan", concert_id)
    wait_status(base, d_token, "ACTIVE")
    _, e_token = other_fan(base, "Eve", concert_id)
    code, eve = call(base, "GET", "/api/queue/tokens/me", token=e_token)
    check(code == 200 and eve["status"] == "WAITING" and eve["position"] == 1, f"Eve waits first in line ({eve})")

    driver.execute_script(BREAK_THE_STREAM + "window.__sameDocument = 'again';")
    driver.find_element(By.CSS_SELECTOR, f"#concert-list button[aria-label='Join the line for {concert['title']}']").click()
    wait.until(lambda d: visible("queue-view") and text("position") == "2")
    check(True, "the fan is back in line at place 2")
    wait.until(lambda d: "Reconnecting" in live_text())
    check("on" not in driver.find_element(By.ID, "live").get_attribute("class").split(),
          "with the stream failing, the page says it is reconnecting and polling: " + live_text())

    status, _ = call(base, "DELETE", "/api/queue/tokens/me", token=d_token)
    check(status == 204, "Dan leaves; the admission lets Eve in")
    wait.until(lambda d: text("position") == "1")
    seen = events()
    check(driver.execute_script("return window.__sameDocument") == "again",
          "the place went from 2 to 1 without a reload while the stream was down")
    check(seen["polls"] >= 1 and seen["tries"] >= 2,
          f"the polls brought it, and the page kept trying the stream ({seen['polls']} polls, {seen['tries']} tries)")
    check("Reconnecting" in live_text(), "still reconnecting: " + live_text())

    driver.execute_script("window.__events.broken = false")
    WebDriverWait(driver, 45, poll_frequency=0.2).until(lambda d: live_text().startswith("Live"))
    check("on" in driver.find_element(By.ID, "live").get_attribute("class").split(),
          "the stream answered again and the page is live: " + live_text())
    polls = events()["polls"]
    time.sleep(6)
    check(events()["polls"] == polls, f"the page stopped polling once live ({polls} -> {events()['polls']} polls in 6 s)")

    status, _ = call(base, "DELETE", "/api/queue/tokens/me", token=c_token)
    check(status == 204, "Cleo leaves; the admission lets our fan in")
    wait.until(lambda d: visible("shop-view"))
    check(driver.execute_script("return window.__sameDocument") == "again", "admitted without a reload")
    check(events()["polls"] == polls, "the stream, not a poll, brought the admission")

    # The shopping time ends: the next thing the fan does is answered 410
    # TOKEN_EXPIRED (by the fetch above, so that only the click's answer can end
    # the visit: the ticket itself stays ACTIVE, and neither the stream's refresh
    # nor the page's own countdown would end it), the page says so in words and
    # goes back to the concerts.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#dates button"))
    token = driver.execute_script("return JSON.parse(localStorage.getItem('boxoffice.visit')).token")
    driver.execute_script("window.__events.expireTurn = true")
    driver.find_element(By.CSS_SELECTOR, "#dates button").click()
    wait.until(lambda d: visible("concerts-view") and visible("alert") and "Your turn has ended" in text("alert"))
    check(not visible("shop-view"), "the click's answer (TOKEN_EXPIRED) ends the visit: the shop is gone")
    check(psql(pg, dbname, f"select status from app.queue_tickets where token = '{token}'") == "ACTIVE",
          "only the click's answer ended the visit: the ticket is still ACTIVE in the database")
    check("{" not in text("alert"), "an expired turn is told in words: " + text("alert"))
    check(driver.execute_script("return localStorage.getItem('boxoffice.visit')") is None,
          "the ended visit is forgotten by the browser")
    broken = psql(pg, dbname, "select count(*) from api.audit()")
    check(broken == "0", f"api.audit() is still clean ({broken} broken)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--pg", required=True, help="libpq keywords of the cluster, without dbname, as a superuser")
    parser.add_argument("--template", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    shots = args.screenshots or tempfile.mkdtemp(prefix="fans-page-")
    os.makedirs(shots, exist_ok=True)

    dbname = f"fans_page_{os.getpid()}"
    psql(args.pg, "postgres", f"create database {dbname} template {args.template}")
    seed = dict(os.environ, DATABASE_URL=f"{args.pg} dbname={dbname}")
    subprocess.run([args.binary, "seed", "--demo"], env=seed, check=True, capture_output=True)
    # Two shopping at once, so the line moves only when the test lets it.
    server = Server(args.binary, args.pg, dbname, {"QUEUE_ACTIVE_CAP": "2", "ADMIT_INTERVAL_SECONDS": "1"})
    driver = None
    try:
        base = server.base
        driver = browser()
        wait = WebDriverWait(driver, 25, poll_frequency=0.1)

        def shot(name):
            # the whole page: the window as tall as the document for the picture
            width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
            time.sleep(0.7)  # let the bar's transition end
            full = driver.execute_script("return document.documentElement.scrollHeight")
            if full > height:
                driver.set_window_size(width, min(full + 140, 3000))
            driver.save_screenshot(os.path.join(shots, name + ".png"))
            driver.set_window_size(width, height)

        def visible(element_id):
            return driver.find_element(By.ID, element_id).is_displayed()

        def text(element_id):
            return driver.find_element(By.ID, element_id).text

        def seat_class(seat_no):
            # read in one script: the map is redrawn (its buttons replaced) after every change
            return driver.execute_script(
                "const b = document.querySelector(`#seats button[data-seat='${arguments[0]}']`); return b ? b.className : ''",
                seat_no)

        status, concerts = call(base, "GET", "/api/concerts")
        concert = concerts["concerts"][0]
        concert_id = concert["concertId"]

        # Two fans shop (the cap), a third waits: ours will be fourth.
        a_user, a_token = other_fan(base, "Ana", concert_id)
        b_user, b_token = other_fan(base, "Ben", concert_id)
        wait_status(base, a_token, "ACTIVE")
        wait_status(base, b_token, "ACTIVE")
        c_user, c_token = other_fan(base, "Cleo", concert_id)

        driver.get(base + "/")
        wait.until(lambda d: visible("account-view"))
        check(driver.title == "Box Office", "the page is served at /")
        driver.find_element(By.ID, "create-name").send_keys("Mina")
        shot("01-account")
        driver.find_element(By.ID, "create-name").send_keys(Keys.ENTER)
        wait.until(lambda d: visible("concerts-view") and d.find_elements(By.CSS_SELECTOR, "#concert-list li"))
        account = driver.execute_script("return JSON.parse(localStorage.getItem('boxoffice.account'))")
        check(account and account["userId"] > 0, "the new account is kept in the browser")
        fan_id = account["userId"]
        shot("02-concerts")

        driver.find_element(By.CSS_SELECTOR, f"#concert-list button[aria-label='Join the line for {concert['title']}']").click()
        wait.until(lambda d: visible("queue-view") and text("position") == "2")
        check(True, "the waiting room shows place 2 (Cleo is ahead)")
        wait.until(lambda d: "Live" in text("live-text"))
        check("minute" in text("wait"), "an estimated wait is shown: " + text("wait"))
        driver.execute_script("window.__sameDocument = 'yes'")
        shot("03-waiting-room")

        status, _ = call(base, "DELETE", "/api/queue/tokens/me", token=a_token)
        check(status == 204, "Ana leaves; the admission lets Cleo in")
        wait.until(lambda d: text("position") == "1")
        check(driver.execute_script("return window.__sameDocument") == "yes",
              "the place went from 2 to 1 without a reload (the event stream)")
        bar = driver.find_element(By.ID, "progress").get_attribute("aria-valuenow")
        check(int(bar) > 0, f"the progress bar moved ({bar} %)")
        shot("04-waiting-room-moved")

        status, _ = call(base, "DELETE", "/api/queue/tokens/me", token=b_token)
        check(status == 204, "Ben leaves; the admission lets our fan in")
        wait.until(lambda d: visible("shop-view"))
        check(driver.execute_script("return window.__sameDocument") == "yes", "admitted without a reload")
        wait.until(lambda d: re.fullmatch(r"\d+:\d\d", text("token-left")))
        check(True, "the shopping time is counting down: " + text("token-left"))

        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#dates button"))
        first_date = driver.find_element(By.CSS_SELECTOR, "#dates button")
        date_id = int(first_date.get_attribute("data-date-id"))
        first_date.click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#seats button.seat")) == 50)
        check(len(driver.find_elements(By.CSS_SELECTOR, "#seats button.free")) == 50, "a seat map of 50 free seats")
        shot("05-seat-map")
        driver.set_window_size(390, 844)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 0, f"on a phone-sized screen nothing runs off the side ({overflow} px)")
        shot("05-seat-map-phone")
        driver.set_window_size(1100, 1000)

        # Between the map and the click, Cleo takes seat 7.
        cleo = wait_status(base, c_token, "ACTIVE")
        status, _ = call(base, "POST", "/api/reservations",
                         {"concertId": concert_id, "dateId": date_id, "seatNo": 7}, token=c_token)
        check(status == 201, "Cleo holds seat 7 through the API")
        seat7 = driver.find_element(By.CSS_SELECTOR, "#seats button[data-seat='7']")
        check("free" in seat7.get_attribute("class"), "the fan's map still shows seat 7 free")
        seat7.click()
        wait.until(lambda d: visible("alert") and "took that seat" in text("alert"))
        check("{" not in text("alert"), "the message is words, not JSON: " + text("alert"))
        wait.until(lambda d: "taken" in seat_class(7))
        check(True, "seat 7 now shows as taken")
        shot("06-seat-taken")

        # Seat 8 with the keyboard.
        seat8 = driver.find_element(By.CSS_SELECTOR, "#seats button[data-seat='8']")
        driver.execute_script("arguments[0].focus()", seat8)
        seat8.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#holds .countdown"))
        wait.until(lambda d: "yours" in seat_class(8))
        countdown = driver.find_element(By.CSS_SELECTOR, "#holds .countdown")
        before = countdown.text
        check(re.search(r"Held for you for \d+:\d\d", before), "the hold shows its countdown: " + before)
        time.sleep(2.2)
        after = countdown.text
        check(after != before, f"the countdown moves ({before} -> {after})")
        shot("07-hold-countdown")

        def seat_row(seat_no):
            return psql(args.pg, dbname, f"select s.status || ' ' || coalesce(s.user_id::text, '-') || ' ' || coalesce(r.status, '-') "
                        f"from app.seats s left join app.reservations r on r.date_id = s.date_id and r.seat_no = s.seat_no "
                        f"and r.user_id = {fan_id} where s.date_id = {date_id} and s.seat_no = {seat_no}")

        # A second hold, then "Cancel hold": the seat is free again on the map and in the database.
        driver.find_element(By.CSS_SELECTOR, "#seats button[data-seat='9']").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#holds li.hold")) == 2 and "yours" in seat_class(9))
        check(seat_row(9) == f"HELD {fan_id} HELD", f"seat 9 is held by the fan in the database ({seat_row(9)})")
        driver.find_element(By.CSS_SELECTOR, "#holds button[aria-label='Cancel the hold on seat 9']").click()
        wait.until(lambda d: "free" in seat_class(9).split())
        check("Seat 9 is free again" in text("notice"), "cancelling says so: " + text("notice"))
        held = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#holds li.hold strong")]
        check(held == ["Seat 8"], f"only seat 8 is still held on the page ({held})")
        check(seat_row(9) == "FREE - CANCELLED", f"seat 9 is FREE and its hold CANCELLED in the database ({seat_row(9)})")

        driver.find_element(By.CSS_SELECTOR, "#holds button.pay").click()
        wait.until(lambda d: visible("alert") and "balance is too low" in text("alert"))
        check(True, "paying with an empty balance says so in words")
        amount = driver.find_element(By.ID, "charge-amount")
        amount.clear()
        amount.send_keys("300000")
        amount.send_keys(Keys.ENTER)
        wait.until(lambda d: "300,000" in text("balance"))
        check(True, "the balance shows the charge: " + text("balance"))

        # A hold whose time ran out: seat 10's hold ends (its end moved into the past in the
        # database, as five minutes would), and paying for it says so in words.
        driver.find_element(By.CSS_SELECTOR, "#seats button[data-seat='10']").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#holds li.hold")) == 2)
        hold10 = psql(args.pg, dbname, f"select reservation_id from app.reservations where date_id = {date_id} "
                      f"and seat_no = 10 and status = 'HELD' and user_id = {fan_id}")
        check(hold10, f"seat 10 is held by the fan in the database (reservation {hold10})")
        psql(args.pg, dbname, f"update app.reservations set expires_at = now() - interval '1 second' where reservation_id = {hold10}; "
             f"update app.seats set hold_expires_at = now() - interval '1 second' where reservation_id = {hold10} and status = 'HELD'")
        driver.find_element(By.CSS_SELECTOR, f"#holds li[data-reservation='{hold10}'] button.pay").click()
        wait.until(lambda d: visible("alert") and "hold on that seat ran out" in text("alert"))
        check("{" not in text("alert"), "an expired hold is told in words: " + text("alert"))
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#holds li[data-reservation='{hold10}']"))
        check(True, "the expired hold left the page's list")
        paid10 = psql(args.pg, dbname, f"select count(*) from app.payments where reservation_id = {hold10}")
        check(paid10 == "0", f"nothing was paid for the expired hold ({paid10})")

        driver.find_element(By.CSS_SELECTOR, "#holds button.pay").click()
        wait.until(lambda d: visible("receipt-view"))
        receipt = text("receipt")
        check("Seat\n8" in receipt and "Payment number" in receipt, "the receipt shows the seat and the payment")
        shot("08-receipt")

        # The database agrees.
        payments = psql(args.pg, dbname, f"select count(*) from app.payments where user_id = {fan_id}")
        check(payments == "1", f"one payment for the fan ({payments})")
        seat = psql(args.pg, dbname, f"select status || ' ' || user_id from app.seats where date_id = {date_id} and seat_no = 8")
        check(seat == f"SOLD {fan_id}", f"seat 8 is SOLD to the fan ({seat})")
        broken = psql(args.pg, dbname, "select count(*) from api.audit()")
        check(broken == "0", f"api.audit() is clean ({broken} broken)")

        stream_down(driver, wait, base, args.pg, dbname, concert, c_token, visible, text)

        severe = [entry["message"] for entry in driver.get_log("browser")
                  if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]
        check(not severe, "no script errors or blocked loads in the console: " + "; ".join(severe))
        external = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))")
        check(not external, "nothing was fetched from outside the server: " + ", ".join(external))
    except (AssertionError, TimeoutException) as failure:
        if driver:
            driver.save_screenshot(os.path.join(shots, "failure.png"))
            print("page text at the failure:\n" + driver.find_element(By.TAG_NAME, "body").text, file=sys.stderr)
        print("server output:\n" + "".join(server.lines[-40:]), file=sys.stderr)
        if not CHECKS or CHECKS[-1][0]:
            CHECKS.append((False, f"{type(failure).__name__}: {failure}"))
    finally:
        if driver:
            driver.quit()
        server.stop()
        psql(args.pg, "postgres", f"drop database if exists {dbname} with (force)")
    passed = sum(1 for ok, _ in CHECKS if ok)
    failed = len(CHECKS) - passed
    print(f"screenshots: {shots}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
