// The fans' page: the same /api routes any client calls, and nothing else.
// No rule lives here: every decision (your place, whether a seat is yours,
// whether you can pay) is the server's answer, shown in words.
"use strict";

const $ = (id) => document.getElementById(id);
const store = {
  get(key) { try { return JSON.parse(localStorage.getItem("boxoffice." + key)); } catch { return null; } },
  set(key, value) { if (value == null) localStorage.removeItem("boxoffice." + key); else localStorage.setItem("boxoffice." + key, JSON.stringify(value)); },
};

// ---- words for every error of the API --------------------------------------

const MESSAGES = {
  SEAT_TAKEN: "Someone else just took that seat. The map is up to date again: please pick another one.",
  HOLD_EXPIRED: "Your hold on that seat ran out, so it went back on sale. Pick it again if it is still free.",
  INSUFFICIENT_BALANCE: "Your balance is too low for this seat. Add money below, then pay again.",
  TOKEN_EXPIRED: "Your turn has ended (your place in line or your shopping time ran out, or you already paid). Join the line again to continue.",
  TOKEN_INVALID: "We could not find your place in line. Please join the line again.",
  TOKEN_MISSING: "We could not find your place in line. Please join the line again.",
  TOKEN_FORBIDDEN: "That belongs to another account or another concert.",
  QUEUE_WAITING: "It is not your turn yet. Keep this page open: it lets you in by itself.",
  HOLD_LIMIT: "You already hold as many seats as one turn allows. Pay for one or cancel one first.",
  RESERVATION_NOT_PAYABLE: "That seat is already paid for, or the hold was cancelled.",
  RESERVATION_NOT_FOUND: "We could not find that reservation.",
  BALANCE_LIMIT: "That would take your balance over the most an account may hold.",
  USER_NOT_FOUND: "We could not find your account. Please create a new one.",
  CONCERT_NOT_FOUND: "That concert is no longer available.",
  DATE_NOT_FOUND: "That date is no longer available.",
  API_KEY_MISSING: "Your account key is missing. Use your account with its key, or create a new account.",
  API_KEY_INVALID: "Your account key was not accepted. Check it, or create a new account.",
  IDEMPOTENCY_KEY_REUSED: "That request was already sent with other details. Please try again.",
  BAD_REQUEST: "Something in that was not valid. Please check what you entered and try again.",
  PAYLOAD_TOO_LARGE: "That was too much to send at once.",
  UNAVAILABLE: "The box office is very busy right now. Please try again in a moment.",
  NETWORK: "We cannot reach the box office. Check your connection; we keep trying.",
};
const GENERIC = "Something went wrong on our side. Please try again.";

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  get words() { return MESSAGES[this.code] || GENERIC; }
}

// ---- talking to the API --------------------------------------------------------

let clockOffset = 0; // server time minus this browser's time, from the Date header

function noteServerTime(response) {
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) clockOffset = date - Date.now();
}
const serverNow = () => Date.now() + clockOffset;

function newKey() {
  return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + "-" + Math.random().toString(16).slice(2);
}

async function api(method, path, { body, token, apiKey, idempotent } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const bearer = token || apiKey;
  if (bearer) headers.Authorization = "Bearer " + bearer;
  if (idempotent) headers["Idempotency-Key"] = idempotent;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch {
    throw new ApiError(0, "NETWORK", "network");
  }
  noteServerTime(response);
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { /* not JSON: treated below */ }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || (response.status >= 500 ? "INTERNAL" : "BAD_REQUEST"), error.message || "");
  }
  return data;
}

// ---- showing things ------------------------------------------------------------

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "KRW" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const whenFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

function formatDay(isoDate) { return dayFormat.format(new Date(isoDate + "T00:00:00Z")); }
function formatClock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
}
function formatWait(seconds) {
  if (seconds == null) return "not known yet";
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return "about " + minutes + (minutes === 1 ? " minute" : " minutes");
  const hours = Math.floor(minutes / 60), rest = minutes % 60;
  return "about " + hours + " h " + (rest ? rest + " min" : "");
}

const VIEWS = ["account-view", "concerts-view", "queue-view", "shop-view", "receipt-view"];
function show(view) {
  clearAlert();
  notify("");
  for (const id of VIEWS) $(id).hidden = id !== view;
  const heading = $(view).querySelector("h1");
  if (heading) heading.focus();
}

function alertUser(text) {
  const box = $("alert");
  box.textContent = text;
  box.hidden = false;
  box.focus({ preventScroll: true });
}
function clearAlert() { $("alert").hidden = true; $("alert").textContent = ""; }
function notify(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = !text;
}
function failed(error) {
  if (error instanceof ApiError) alertUser(error.words);
  else { alertUser(GENERIC); console.error(error); }
}

// ---- state -----------------------------------------------------------------------

const state = {
  account: store.get("account"), // {userId, name, apiKey}
  ticket: null,                  // the last Ticket the server sent
  visit: store.get("visit"),     // {token, concertId, title, firstPosition, holds: [reservationId]}
  concerts: [],
  dateId: null,
  holds: new Map(),              // reservationId -> Reservation
};

function saveVisit() { store.set("visit", state.visit); }

function renderWho() {
  const who = $("who");
  who.hidden = !state.account;
  $("signout-wrap").hidden = !state.account;
  if (state.account) who.textContent = state.account.name + " · account " + state.account.userId;
}

// ---- account -----------------------------------------------------------------------

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearAlert();
  const name = $("create-name").value.trim();
  if (!name) { alertUser("Please type your name."); $("create-name").focus(); return; }
  try {
    const user = await api("POST", "/api/users", { body: { name } });
    state.account = { userId: user.userId, name: user.name, apiKey: user.apiKey || null };
    store.set("account", state.account);
    renderWho();
    await showConcerts();
    if (user.apiKey) { $("key-value").textContent = user.apiKey; $("key-card").hidden = false; }
  } catch (error) { failed(error); }
});

$("existing-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearAlert();
  const userId = Number($("existing-id").value.trim());
  if (!Number.isInteger(userId) || userId <= 0) { alertUser("Your account number is a whole number, like 42."); return; }
  state.account = { userId, name: "Account " + userId, apiKey: $("existing-key").value.trim() || null };
  store.set("account", state.account);
  renderWho();
  await showConcerts();
});

$("key-done").addEventListener("click", () => { $("key-card").hidden = true; });

$("signout").addEventListener("click", () => {
  stopWatching();
  state.account = null; state.visit = null;
  store.set("account", null); saveVisit();
  renderWho();
  show("account-view");
});

// ---- concerts and joining -------------------------------------------------------------

async function showConcerts() {
  show("concerts-view");
  try {
    const data = await api("GET", "/api/concerts");
    state.concerts = data.concerts || [];
  } catch (error) { failed(error); return; }
  const list = $("concert-list");
  list.replaceChildren();
  const upcoming = state.concerts.filter((c) => c.dates > 0);
  $("concerts-empty").hidden = upcoming.length > 0;
  for (const concert of upcoming) {
    const item = document.createElement("li");
    item.className = "card concert";
    const title = document.createElement("h2");
    title.textContent = concert.title;
    const venue = document.createElement("p");
    venue.textContent = concert.venue + " · " + concert.dates + (concert.dates === 1 ? " date" : " dates");
    const sale = document.createElement("p");
    sale.className = "sale";
    const opens = concert.saleOpensAt ? Date.parse(concert.saleOpensAt) : NaN;
    sale.textContent = !Number.isNaN(opens) && opens > serverNow() ? "Sale opens " + whenFormat.format(new Date(opens)) : "On sale now";
    const join = document.createElement("button");
    join.type = "button";
    join.textContent = "Join the line";
    join.setAttribute("aria-label", "Join the line for " + concert.title);
    join.addEventListener("click", () => joinLine(concert, join));
    item.append(title, venue, sale, join);
    list.append(item);
  }
}

async function joinLine(concert, button) {
  clearAlert();
  if (!state.account) { show("account-view"); return; }
  button.disabled = true;
  try {
    // The key proves who we are; userId in the body must match it.
    const ticket = await api("POST", "/api/queue/tokens", {
      apiKey: state.account.apiKey, body: { concertId: concert.concertId, userId: state.account.userId },
    });
    state.visit = { token: ticket.token, concertId: concert.concertId, title: concert.title, firstPosition: ticket.position, holds: [] };
    saveVisit();
    follow(ticket);
    watch();
  } catch (error) {
    failed(error);
  } finally { button.disabled = false; }
}

// ---- the waiting room: live from the event stream, polling while it is down ----------------

let stream = null;     // AbortController of the open stream
let pollTimer = null;
let retryTimer = null;
let retryDelay = 2000;

function watch() {
  stopWatching();
  openStream();
}

function stopWatching() {
  if (stream) { stream.abort(); stream = null; }
  clearTimeout(pollTimer); pollTimer = null;
  clearTimeout(retryTimer); retryTimer = null;
}

function setLive(live, text) {
  $("live").classList.toggle("on", live);
  $("live-text").textContent = text;
}

// EventSource cannot send the Authorization header, so the stream is read
// with fetch(): the token stays out of URLs and logs.
async function openStream() {
  const visit = state.visit;
  if (!visit) return;
  const controller = new AbortController();
  stream = controller;
  try {
    const response = await fetch("/api/queue/tokens/me/events", {
      headers: { Authorization: "Bearer " + visit.token, Accept: "text/event-stream" }, signal: controller.signal, cache: "no-store",
    });
    noteServerTime(response);
    if (!response.ok) {
      let error = {};
      try { error = (await response.json()).error || {}; } catch { /* keep empty */ }
      throw new ApiError(response.status, error.code || "UNAVAILABLE", error.message || "");
    }
    setLive(true, "Live: this page updates by itself");
    retryDelay = 2000;
    clearTimeout(pollTimer); pollTimer = null;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message"; const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (!data.length) continue;
        const payload = JSON.parse(data.join("\n"));
        if (name === "ticket") follow(payload);
        else if (name === "error") {
          const error = new ApiError(0, payload.error && payload.error.code, "");
          if (error.code === "UNAVAILABLE") continue;
          return ended(error);
        }
      }
    }
    if (stream !== controller) return;
    throw new ApiError(0, "NETWORK", "stream ended");
  } catch (error) {
    if (stream !== controller || controller.signal.aborted) return;
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) return ended(error);
    // Dropped: poll until the stream is back.
    setLive(false, "Reconnecting… checking your place every 5 seconds");
    startPolling();
    retryTimer = setTimeout(() => { if (stream === controller) openStream(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }
}

function startPolling() {
  if (pollTimer) return;
  const poll = async () => {
    pollTimer = null;
    if (!state.visit) return;
    try {
      follow(await api("GET", "/api/queue/tokens/me", { token: state.visit.token }));
    } catch (error) {
      if (error.status >= 400 && error.status < 500) return ended(error);
    }
    if (!pollTimer && stream && $("live").classList.contains("on") === false) pollTimer = setTimeout(poll, 5000);
  };
  pollTimer = setTimeout(poll, 0);
}

// The ticket ended: expired, left, used up.
function ended(error) {
  stopWatching();
  const wasBuying = !$("receipt-view").hidden;
  state.visit = null; state.ticket = null; saveVisit();
  if (wasBuying) return;
  showConcerts().then(() => alertUser(error.words));
}

function follow(ticket) {
  if (!state.visit || ticket.token !== state.visit.token) return;
  const before = state.ticket;
  state.ticket = ticket;
  if (ticket.status === "ACTIVE") {
    if (!before || before.status !== "ACTIVE" || $("shop-view").hidden) enterShop();
    renderTokenTimer();
    return;
  }
  renderQueue(ticket, !before || $("queue-view").hidden);
}

function renderQueue(ticket, first) {
  if (first) show("queue-view");
  $("queue-concert").textContent = state.visit.title;
  const presale = ticket.position == null;
  $("presale").hidden = !presale;
  $("inline").hidden = presale;
  if (presale) {
    const opens = ticket.saleOpensAt ? Date.parse(ticket.saleOpensAt) : NaN;
    $("presale-at").textContent = Number.isNaN(opens) ? "soon" : whenFormat.format(new Date(opens));
    return;
  }
  if (state.visit.firstPosition == null || ticket.position > state.visit.firstPosition) {
    state.visit.firstPosition = ticket.position; saveVisit();
  }
  const text = String(ticket.position);
  if ($("position").textContent !== text) $("position").textContent = text;
  $("wait").textContent = formatWait(ticket.estimatedWaitSeconds);
  const start = Math.max(state.visit.firstPosition, 1);
  const done = Math.round(100 * (start - ticket.position + 1) / (start + 1));
  $("progress-fill").style.width = done + "%";
  $("progress").setAttribute("aria-valuenow", String(done));
  $("progress").setAttribute("aria-valuetext", "place " + ticket.position + " of " + start + " when you joined");
}

$("leave").addEventListener("click", leaveLine);
$("leave-shop").addEventListener("click", leaveLine);

async function leaveLine() {
  clearAlert();
  const visit = state.visit;
  stopWatching();
  state.visit = null; state.ticket = null; saveVisit();
  if (visit) {
    try { await api("DELETE", "/api/queue/tokens/me", { token: visit.token }); }
    catch (error) { if (error.code !== "TOKEN_EXPIRED" && error.code !== "TOKEN_INVALID") failed(error); }
  }
  await showConcerts();
  notify("You left the line for " + (visit ? visit.title : "the concert") + ".");
}

// ---- the shop: dates, seat map, holds, balance, payment ----------------------------------

async function enterShop() {
  show("shop-view");
  notify("");
  $("shop-concert").textContent = state.visit.title;
  renderTokenTimer();
  await Promise.all([loadBalance(), loadDates(), loadHolds()]);
}

function renderTokenTimer() {
  const ticket = state.ticket;
  if (!ticket || !ticket.expiresAt) return;
  $("token-at").textContent = timeFormat.format(new Date(ticket.expiresAt));
}

async function loadBalance() {
  try {
    const data = await api("GET", "/api/balance", { token: state.visit.token });
    $("balance").textContent = money.format(data.balance);
  } catch (error) { handleShopError(error); }
}

$("charge-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearAlert();
  const amount = Number($("charge-amount").value);
  if (!Number.isInteger(amount) || amount <= 0) { alertUser("Please enter a whole number of won, like 50000."); return; }
  const button = event.submitter || $("charge-form").querySelector("button");
  button.disabled = true;
  try {
    const data = await api("POST", "/api/balance/charge", {
      token: state.visit.token, idempotent: newKey(), body: { amount, userId: state.account.userId },
    });
    $("balance").textContent = money.format(data.balance);
    notify("Added " + money.format(amount) + ". Your balance is now " + money.format(data.balance) + ".");
  } catch (error) { handleShopError(error); }
  finally { button.disabled = false; }
});

async function loadDates() {
  let data;
  try { data = await api("GET", "/api/concerts/" + state.visit.concertId + "/dates", { token: state.visit.token }); }
  catch (error) { return handleShopError(error); }
  const box = $("dates");
  box.replaceChildren();
  $("dates-empty").hidden = data.dates.length > 0;
  for (const date of data.dates) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "date";
    button.dataset.dateId = date.dateId;
    button.setAttribute("aria-pressed", String(date.dateId === state.dateId));
    button.innerHTML = "";
    const day = document.createElement("span"); day.textContent = formatDay(date.date);
    const left = document.createElement("span"); left.className = "small"; left.textContent = date.availableSeats + " seats left";
    button.append(day, left);
    button.addEventListener("click", () => pickDate(date));
    box.append(button);
  }
  if (state.dateId && data.dates.some((d) => d.dateId === state.dateId)) await loadSeats();
}

async function pickDate(date) {
  clearAlert();
  state.dateId = date.dateId;
  state.date = date.date;
  for (const button of $("dates").children) button.setAttribute("aria-pressed", String(Number(button.dataset.dateId) === date.dateId));
  await loadSeats();
  const first = $("seats").querySelector("button.free");
  if (first) first.focus();
}

async function loadSeats() {
  let data;
  try {
    data = await api("GET", "/api/concerts/" + state.visit.concertId + "/dates/" + state.dateId + "/seats", { token: state.visit.token });
  } catch (error) { return handleShopError(error); }
  const free = new Map(data.seats.map((s) => [s.seatNo, s.price]));
  const mine = new Set([...state.holds.values()].filter((r) => r.dateId === state.dateId && r.status === "HELD").map((r) => r.seatNo));
  $("map-block").hidden = false;
  $("map-title").textContent = "Seats on " + formatDay(state.date || "");
  const box = $("seats");
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.seat : null;
  box.replaceChildren();
  for (let seatNo = 1; seatNo <= 50; seatNo++) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.seat = String(seatNo);
    button.textContent = String(seatNo);
    if (mine.has(seatNo)) {
      button.className = "seat yours";
      button.setAttribute("aria-label", "Seat " + seatNo + ", held by you");
      button.setAttribute("aria-disabled", "true");
    } else if (free.has(seatNo)) {
      button.className = "seat free";
      button.setAttribute("aria-label", "Seat " + seatNo + ", free, " + money.format(free.get(seatNo)));
      button.title = money.format(free.get(seatNo));
      button.addEventListener("click", () => holdSeat(seatNo, button));
    } else {
      button.className = "seat taken";
      button.setAttribute("aria-label", "Seat " + seatNo + ", taken");
      button.setAttribute("aria-disabled", "true");
    }
    box.append(button);
  }
  if (focused) { const again = box.querySelector('[data-seat="' + focused + '"]'); if (again) again.focus(); }
}

async function holdSeat(seatNo, button) {
  clearAlert();
  button.disabled = true;
  try {
    const reservation = await api("POST", "/api/reservations", {
      token: state.visit.token, idempotent: newKey(),
      body: { concertId: state.visit.concertId, dateId: state.dateId, seatNo, userId: state.account.userId },
    });
    rememberHold(reservation);
    notify("Seat " + seatNo + " is yours until " + timeFormat.format(new Date(reservation.expiresAt)) + ". Pay before then to keep it.");
    renderHolds();
  } catch (error) {
    handleShopError(error);
  }
  await loadSeats();
}

function rememberHold(reservation) {
  state.holds.set(reservation.reservationId, reservation);
  if (!state.visit.holds.includes(reservation.reservationId)) { state.visit.holds.push(reservation.reservationId); saveVisit(); }
}

async function loadHolds() {
  for (const id of state.visit.holds || []) {
    try { state.holds.set(id, await api("GET", "/api/reservations/" + id, { token: state.visit.token })); }
    catch { /* gone: not shown */ }
  }
  renderHolds();
}

function renderHolds() {
  const list = $("holds");
  list.replaceChildren();
  const held = [...state.holds.values()].filter((r) => r.status === "HELD");
  $("holds-block").hidden = held.length === 0;
  for (const r of held) {
    const item = document.createElement("li");
    item.className = "card hold";
    item.dataset.reservation = r.reservationId;
    const what = document.createElement("p");
    what.innerHTML = "";
    const strong = document.createElement("strong"); strong.textContent = "Seat " + r.seatNo;
    what.append(strong, document.createTextNode(" · " + formatDay(r.date) + " · " + money.format(r.price)));
    const left = document.createElement("p");
    left.className = "countdown";
    left.dataset.expires = r.expiresAt;
    const pay = document.createElement("button");
    pay.type = "button"; pay.className = "pay";
    pay.textContent = "Pay " + money.format(r.price);
    pay.addEventListener("click", () => paySeat(r, pay));
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "secondary cancel";
    cancel.textContent = "Cancel hold";
    cancel.setAttribute("aria-label", "Cancel the hold on seat " + r.seatNo);
    cancel.addEventListener("click", () => cancelHold(r, cancel));
    item.append(what, left, pay, cancel);
    list.append(item);
  }
  tick();
}

async function cancelHold(r, button) {
  clearAlert();
  button.disabled = true;
  try {
    const updated = await api("DELETE", "/api/reservations/" + r.reservationId, { token: state.visit.token });
    state.holds.set(r.reservationId, updated);
    notify("Seat " + r.seatNo + " is free again.");
  } catch (error) {
    handleShopError(error, r);
  }
  renderHolds();
  if (state.dateId) await loadSeats();
}

async function paySeat(r, button) {
  clearAlert();
  button.disabled = true;
  let payment;
  try {
    payment = await api("POST", "/api/payments", {
      token: state.visit.token, idempotent: "pay-" + r.reservationId + "-" + state.visit.token,
      body: { reservationId: r.reservationId, userId: state.account.userId },
    });
  } catch (error) {
    button.disabled = false;
    return handleShopError(error, r);
  }
  // The token is used up by the payment: the stream ends, the visit is over.
  stopWatching();
  const title = state.visit.title;
  state.visit = null; state.ticket = null; state.holds.clear(); state.dateId = null; saveVisit();
  showReceipt(payment, r, title);
}

function showReceipt(payment, r, title) {
  const rows = [
    ["Concert", title], ["Date", formatDay(r.date)], ["Seat", String(payment.seatNo)],
    ["Paid", money.format(payment.amount)], ["Payment number", String(payment.paymentId)],
    ["Paid at", whenFormat.format(new Date(payment.paidAt))],
  ];
  const list = $("receipt");
  list.replaceChildren();
  for (const [term, value] of rows) {
    const dt = document.createElement("dt"); dt.textContent = term;
    const dd = document.createElement("dd"); dd.textContent = value;
    list.append(dt, dd);
  }
  show("receipt-view");
}

$("receipt-done").addEventListener("click", () => showConcerts());

function handleShopError(error, reservation) {
  if (!(error instanceof ApiError)) return failed(error);
  if (["TOKEN_EXPIRED", "TOKEN_INVALID", "TOKEN_MISSING"].includes(error.code)) return ended(error);
  if (error.code === "HOLD_EXPIRED" && reservation) {
    state.holds.set(reservation.reservationId, { ...reservation, status: "EXPIRED" });
    renderHolds();
    if (state.dateId) loadSeats();
  }
  if (error.code === "QUEUE_WAITING") { follow({ ...state.ticket, status: "WAITING" }); watch(); }
  alertUser(error.words);
}

// ---- the clocks: pre-sale, hold and shopping-time countdowns ----------------------------------

function tick() {
  const now = serverNow();
  const ticket = state.ticket;
  if (ticket && ticket.status === "WAITING" && ticket.position == null && ticket.saleOpensAt) {
    $("presale-in").textContent = formatClock(Date.parse(ticket.saleOpensAt) - now);
  }
  if (ticket && ticket.status === "ACTIVE" && ticket.expiresAt && !$("shop-view").hidden) {
    const left = Date.parse(ticket.expiresAt) - now;
    $("token-left").textContent = formatClock(left);
    $("token-left").parentElement.classList.toggle("urgent", left < 60000);
    if (left <= 0) ended(new ApiError(410, "TOKEN_EXPIRED", ""));
  }
  for (const element of document.querySelectorAll(".countdown")) {
    const left = Date.parse(element.dataset.expires) - now;
    element.textContent = left > 0 ? "Held for you for " + formatClock(left) : "Your hold has run out.";
    element.classList.toggle("urgent", left < 60000);
  }
}
setInterval(tick, 250);

// ---- start: resume where this browser left off --------------------------------------------

async function start() {
  renderWho();
  if (!state.account) { show("account-view"); return; }
  if (state.visit) {
    try {
      follow(await api("GET", "/api/queue/tokens/me", { token: state.visit.token }));
      watch();
      return;
    } catch (error) {
      if (error.status >= 400 && error.status < 500) {
        state.visit = null; saveVisit();
        await showConcerts();
        alertUser("Your earlier place in line has ended. " + error.words);
        return;
      }
      failed(error);
    }
  }
  await showConcerts();
}

start();
