// The driver's page. "Failed" opens the question of why (the answer goes out through live.js's form handling);
// Escape closes it again. After a pickup, focus follows the order to its card under "Yours".
(() => {
  "use strict";

  let focusNext = null; // the id of a control to focus once the board shows it

  function sync() {
    for (const button of document.querySelectorAll("button[data-opens]")) {
      const panel = document.getElementById(button.dataset.opens);
      button.setAttribute("aria-expanded", panel && panel.open ? "true" : "false");
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-opens]");
    const panel = button && document.getElementById(button.dataset.opens);
    if (!panel) return;
    panel.open = !panel.open;
    sync();
    if (panel.open) panel.querySelector("input")?.focus();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const panel = event.target.closest && event.target.closest("details.fail[open]");
    if (!panel) return;
    panel.open = false;
    sync();
    document.querySelector(`button[data-opens="${panel.id}"]`)?.focus();
  });

  document.addEventListener("live:acted", (event) => {
    const id = event.detail.control.id || "";
    if (id.startsWith("pickup-")) focusNext = "delivered-" + id.slice("pickup-".length);
  });

  document.addEventListener("live:updated", () => {
    sync();
    const target = focusNext && document.getElementById(focusNext);
    if (target) {
      target.focus();
      focusNext = null;
    }
  });

  document.addEventListener("DOMContentLoaded", sync);
})();
