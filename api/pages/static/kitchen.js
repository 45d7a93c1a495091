// The kitchen display's own behaviour, beside live.js: a new ticket is highlighted for a while and chimes
// (a short Web Audio beep, no sound file), unless the chime is muted. Only the mute choice is kept in
// localStorage. document.body.dataset.chimes counts the chimes actually sounded.
(() => {
  "use strict";

  const HIGHLIGHT_MS = 10000;
  const MUTE_KEY = "pizzeria.kitchen.muted";
  const RESUME_WAIT_MS = 300;
  const highlighted = new Map(); // the key of a new ticket -> until when it stays highlighted (ms)
  let audio = null;

  function muted() {
    try {
      return localStorage.getItem(MUTE_KEY) === "1";
    } catch (err) {
      return false; // storage refused: the chime stays on
    }
  }

  function showMute() {
    document.getElementById("mute")?.setAttribute("aria-pressed", String(muted()));
  }

  function toggleMute() {
    try {
      localStorage.setItem(MUTE_KEY, muted() ? "0" : "1");
    } catch (err) {
      // storage refused: nothing to keep
    }
    showMute();
  }

  function audioContext() {
    if (audio) return audio;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try {
      audio = new Context();
    } catch (err) {
      audio = null;
    }
    return audio;
  }

  // A browser may keep sound off until someone touches the page: then the chime stays silent (and says so),
  // and the page goes on all the same.
  async function running(context) {
    if (context.state === "running") return true;
    try {
      await Promise.race([context.resume(), new Promise((resolve) => setTimeout(resolve, RESUME_WAIT_MS))]);
    } catch (err) {
      return false;
    }
    return context.state === "running";
  }

  function tone(context, frequency, start) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.4, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.35);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + 0.4);
  }

  async function chime() {
    if (muted()) return;
    const context = audioContext();
    const hint = document.getElementById("sound-hint");
    if (!context || !(await running(context))) {
      if (hint) hint.hidden = false;
      return;
    }
    try {
      tone(context, 880, context.currentTime);
      tone(context, 1320, context.currentTime + 0.25);
    } catch (err) {
      return;
    }
    if (hint) hint.hidden = true;
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  }

  function unlockSound() {
    const context = audioContext();
    if (context && context.state !== "running") {
      context.resume().then(
        () => {
          const hint = document.getElementById("sound-hint");
          if (hint && context.state === "running") hint.hidden = true;
        },
        () => {},
      );
    }
  }

  // Each update of the board replaces the cards: the highlight is put back on those still new.
  function highlight() {
    const now = Date.now();
    for (const [key, until] of highlighted) if (until <= now) highlighted.delete(key);
    for (const card of document.querySelectorAll("[data-ticket]")) {
      card.classList.toggle("new", highlighted.has(card.dataset.key));
    }
  }

  // A button pressed from the keyboard is replaced once its order moves on: the focus then goes to the order's
  // card, so that the next Tab reaches its next step (never straight onto it: a second Enter moves nothing).
  let actedOn = null;

  function keepFocusOnActedCard() {
    if (!actedOn || Date.now() > actedOn.until) {
      actedOn = null;
      return;
    }
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const card = [...document.querySelectorAll("[data-key]")].find((element) => element.dataset.key === actedOn.key);
    if (card && card.getClientRects().length) card.focus();
  }

  document.addEventListener("live:acted", (event) => {
    const card = event.detail.control.closest("[data-key]");
    if (card) actedOn = { key: card.dataset.key, until: Date.now() + 5000 };
  });

  document.addEventListener("live:updated", (event) => {
    const added = event.detail.added.filter((element) => element.matches("[data-ticket]"));
    if (added.length) {
      const until = Date.now() + HIGHLIGHT_MS;
      for (const card of added) highlighted.set(card.dataset.key, until);
      const news = document.getElementById("kitchen-news");
      if (news) news.textContent = `New ticket: ${added.map((card) => card.dataset.label).join(", ")}`;
      chime();
    }
    highlight();
    keepFocusOnActedCard();
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.body.dataset.chimes = "0";
    showMute();
    document.getElementById("mute")?.addEventListener("click", toggleMute);
    document.addEventListener("pointerdown", unlockSound);
    document.addEventListener("keydown", unlockSound);
    setInterval(highlight, 1000);
  });
})();
