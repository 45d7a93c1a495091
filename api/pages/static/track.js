// The tracking page. A cancel takes a few seconds (the kitchen is stopped, a card refunded): the page says it is
// under way and keeps the button from a second press until the order shows as cancelled, or the cancel is refused.
(() => {
  "use strict";

  let state = "idle"; // idle | cancelling | cancelled

  function say(text) {
    const progress = document.getElementById("cancel-progress");
    if (progress) progress.textContent = text;
  }

  function holdButtons() {
    const hold = state !== "idle";
    for (const button of document.querySelectorAll("button[data-cancel]")) {
      button.disabled = hold;
      if (hold) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
    }
  }

  function settle() {
    state = "idle";
    say("");
    holdButtons();
  }

  // Capture: before live.js sends the cancel.
  document.addEventListener(
    "click",
    (event) => {
      if (!event.target.closest("button[data-cancel]") || state !== "idle") return;
      state = "cancelling";
      say("Cancelling your order: the kitchen is told and any card payment refunded. This takes a few seconds…");
    },
    true,
  );

  document.addEventListener("live:acted", (event) => {
    if (!event.detail.control.matches("[data-cancel]")) return;
    state = "cancelled";
    say("Your order is cancelled.");
    setTimeout(holdButtons, 0); // after live.js has let go of the button
  });

  document.addEventListener("live:updated", () => {
    const now = document.querySelector("[data-status]");
    if (state !== "idle" && now && now.dataset.status === "cancelled") settle();
    else holdButtons();
  });

  document.addEventListener("DOMContentLoaded", () => {
    // A refused cancel (the kitchen finished first, say) is shown by live.js in #notice: the wait is over.
    const notice = document.getElementById("notice");
    if (!notice) return;
    new MutationObserver(() => {
      if (state === "cancelling" && !notice.hidden && notice.textContent) settle();
    }).observe(notice, { attributes: true, childList: true, characterData: true, subtree: true });
  });
})();
