// Small behaviours every page shares. No inline scripts anywhere, so a strict CSP holds.
(function () {
  "use strict";

  const confirmDialog = () => document.getElementById("confirm-dialog");

  // Ask before a destructive action; resolve true when the person confirms.
  function askToConfirm(text) {
    const dialog = confirmDialog();
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(text));
    }
    dialog.querySelector(".dialog-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    });
  }

  // Plain forms with data-confirm (they work without htmx, e.g. "Remove member"), or a form
  // whose submit button carries it (the campaign builder's "Send now" beside "Save draft").
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.confirmed) return;
    const submitter = event.submitter;
    const text = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (!text) return;
    event.preventDefault();
    askToConfirm(text).then((ok) => {
      if (!ok) return;
      // The button's name and value (action=send) go in a hidden field: the button itself may
      // have been swapped out while the dialog was open (the builder keeps its count current).
      const field = document.createElement("input");
      if (submitter && submitter.name) {
        field.type = "hidden";
        field.name = submitter.name;
        field.value = submitter.value;
        form.appendChild(field);
      }
      form.dataset.confirmed = "1";
      form.requestSubmit(); // the submit event runs now, so the flag and field can go after
      delete form.dataset.confirmed;
      field.remove();
    });
  });

  // htmx requests with hx-confirm use the same dialog instead of the browser's.
  document.addEventListener("htmx:confirm", (event) => {
    if (!event.detail.question) return;
    event.preventDefault();
    askToConfirm(event.detail.question).then((ok) => ok && event.detail.issueRequest(true));
  });

  // Selects that save on change (role pickers).
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) el.form.requestSubmit();
  });

  // Dialog openers and closers.
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog)?.showModal();
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog")?.close();
  });

  // Toasts: flash messages and HX-Trigger {"toast": {"level": "...", "message": "..."}}.
  function showToast(level, message) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const toast = document.createElement("div");
    toast.className = `toast toast-${level}`;
    toast.setAttribute("role", "status");
    toast.textContent = message;
    box.appendChild(toast);
    scheduleDismiss(toast);
  }
  function scheduleDismiss(toast) {
    setTimeout(() => toast.classList.add("leaving"), 5000);
    setTimeout(() => toast.remove(), 5600);
  }
  document.body.addEventListener("toast", (event) => showToast(event.detail.level || "info", event.detail.message));
  document.body.addEventListener("closeModal", () => document.querySelectorAll("dialog[open]").forEach((d) => d.close()));

  function onLoad() {
    document.querySelectorAll("#toasts .toast").forEach(scheduleDismiss);
    document.querySelectorAll("dialog[data-open-on-load]").forEach((d) => d.showModal());
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
})();
