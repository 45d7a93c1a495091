// Keeps a screen current. The live part of the page ([data-live-src]) is asked for again every second; the
// server answers 304 while nothing changed. When it cannot be reached the screen says so at once, keeps
// trying, and on its return shows everything as it is now: nothing missed is left out.
// Buttons and forms with data-url call the shop's HTTP API; a refusal is shown on the page, not as an error page.
(() => {
  "use strict";

  const POLL_MS = 1000;
  const TIMEOUT_MS = 3000;
  const ACTION_TIMEOUT_MS = 30000;
  const FOLLOW_UP_MS = 700;

  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";
  const csrf = { header: meta("csrf-header") || "X-CSRF-Token", token: meta("csrf-token") };
  const refusals = new Map(); // the key of a card -> the reason its last button was refused
  let live = null;
  let status = null;
  let etag = null;
  let inFlight = false;
  let skewMs = 0; // the server's clock minus this one, so that ages agree with the server

  function setState(state, text) {
    document.body.dataset.live = state;
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  async function refresh() {
    if (!live || inFlight) return;
    inFlight = true;
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const response = await fetch(live.dataset.liveSrc, {
        headers,
        cache: "no-store",
        credentials: "same-origin",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (response.status === 401) {
        location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
        return;
      }
      if (response.status !== 304 && !response.ok) throw new Error(`HTTP ${response.status}`);
      const date = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(date)) skewMs = date - Date.now();
      if (response.status === 200) {
        const html = await response.text();
        etag = response.headers.get("ETag");
        swap(html);
      }
      if (document.body.dataset.live !== "live") setState("live", "Live");
    } catch (err) {
      if (document.body.dataset.live !== "down") setState("down", "Not live: reconnecting…");
    } finally {
      inFlight = false;
    }
  }

  function keys(root) {
    return new Set([...root.querySelectorAll("[data-key]")].map((element) => element.dataset.key));
  }

  function swap(html) {
    const before = keys(live);
    // What a person is in the middle of survives the update: focus, typed text, an opened form.
    const focused = document.activeElement && document.activeElement.id;
    const typed = new Map(
      [...live.querySelectorAll("input[id], textarea[id], select[id]")].map((field) => [field.id, field.value]),
    );
    const opened = new Set([...live.querySelectorAll("details[id][open]")].map((details) => details.id));
    live.innerHTML = html; // rendered by the server's templates, everything people typed escaped there
    for (const [id, value] of typed) {
      const field = document.getElementById(id);
      if (field && field.value === "") field.value = value;
    }
    for (const id of opened) document.getElementById(id)?.setAttribute("open", "");
    if (focused) document.getElementById(focused)?.focus();
    for (const [key, reason] of refusals) showRefusalIn(key, reason);
    const added = [...live.querySelectorAll("[data-key]")].filter((element) => !before.has(element.dataset.key));
    tick();
    document.dispatchEvent(new CustomEvent("live:updated", { detail: { added } }));
  }

  function minutes(ms) {
    const whole = Math.floor(Math.abs(ms) / 60000);
    return whole < 60 ? `${whole} min` : `${Math.floor(whole / 60)} h ${whole % 60} min`;
  }

  // Times that move on their own: "12 min" since a moment, time left before a promise, the colour of age.
  function tick() {
    const now = Date.now() + skewMs;
    for (const element of document.querySelectorAll("[data-since]")) {
      const since = Date.parse(element.dataset.since);
      if (!Number.isNaN(since)) element.textContent = minutes(now - since);
    }
    for (const element of document.querySelectorAll("[data-until]")) {
      const until = Date.parse(element.dataset.until);
      if (Number.isNaN(until)) continue;
      element.textContent = until >= now ? `${minutes(until - now)} left` : `${minutes(now - until)} late`;
    }
    for (const element of document.querySelectorAll("[data-age-from][data-age-limit]")) {
      const from = Date.parse(element.dataset.ageFrom);
      const limit = Number(element.dataset.ageLimit) * 1000;
      if (Number.isNaN(from) || !(limit > 0)) continue;
      const age = now - from;
      element.dataset.age = age > limit ? "late" : age > limit / 2 ? "aging" : "fresh";
    }
  }

  function showNotice(text) {
    const notice = document.getElementById("notice");
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = !text;
  }

  function showRefusalIn(key, reason) {
    const card = live && [...live.querySelectorAll("[data-key]")].find((element) => element.dataset.key === key);
    const place = card && card.querySelector("[data-refusal]");
    if (place) place.textContent = reason;
  }

  function refuse(control, reason) {
    const card = control.closest("[data-key]");
    const label = card?.dataset.label;
    showNotice(label ? `${label}: ${reason}` : reason);
    if (card) {
      refusals.set(card.dataset.key, reason);
      showRefusalIn(card.dataset.key, reason);
    }
  }

  async function act(control, method, url, body) {
    const card = control.closest("[data-key]");
    const buttons = card ? [...card.querySelectorAll("button")] : [control];
    for (const button of buttons) button.disabled = true;
    control.setAttribute("aria-busy", "true");
    if (card) refusals.delete(card.dataset.key);
    showNotice("");
    try {
      const headers = { Accept: "application/json", [csrf.header]: csrf.token };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal: AbortSignal.timeout(ACTION_TIMEOUT_MS),
      });
      if (response.status === 401) {
        location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
        return;
      }
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        refuse(control, answer.detail || answer.title || `refused (HTTP ${response.status})`);
      } else {
        document.dispatchEvent(new CustomEvent("live:acted", { detail: { control, answer } }));
      }
    } catch (err) {
      refuse(control, "the shop cannot be reached just now: try again");
    } finally {
      control.removeAttribute("aria-busy");
      for (const button of buttons) button.disabled = false;
      refresh();
      // The screens' shared store reads may be up to half a second old: look again once they are not.
      setTimeout(refresh, FOLLOW_UP_MS);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-url]");
    if (!button || button.type === "submit") return;
    event.preventDefault();
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    act(button, button.dataset.method || "POST", button.dataset.url, body);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-url]");
    if (!form) return;
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    act(event.submitter || form, form.dataset.method || "POST", form.dataset.url, body);
  });

  document.addEventListener("DOMContentLoaded", () => {
    live = document.querySelector("[data-live-src]");
    status = document.getElementById("live-status");
    tick();
    setInterval(tick, 1000);
    if (live) {
      setInterval(refresh, POLL_MS);
      refresh();
    }
  });

  // For the pages' own scripts (the kitchen's chime, for one).
  window.pizzeriaLive = { refresh, showNotice };
})();
