// Contacts pages: "select all" checkboxes and the CSV drop zone. No inline scripts (CSP).
(function () {
  "use strict";

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
    document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)
      .forEach((item) => { item.checked = box.checked; });
  });

  // Drop zone: a file dropped on it goes into its file input; too large a file is refused
  // here with the same message the server gives, before anything is uploaded.
  function formatBytes(bytes) {
    return bytes >= 1048576 ? `${Math.round(bytes / 1048576)} MB` : `${Math.round(bytes / 1024)} KB`;
  }
  function check(zone, input) {
    const file = input.files && input.files[0];
    const limit = Number(zone.dataset.maxBytes || 0);
    const message = zone.querySelector(".drop-message");
    const submit = zone.closest("form").querySelector("button[type=submit]");
    if (!file) return;
    if (limit && file.size > limit) {
      message.textContent = `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}. Split the file and import the parts.`;
      message.classList.add("error");
      submit.disabled = true;
    } else {
      message.textContent = `${file.name} (${formatBytes(file.size)})`;
      message.classList.remove("error");
      submit.disabled = false;
    }
  }
  function setup() {
    document.querySelectorAll("[data-drop-zone]").forEach((zone) => {
      const input = zone.querySelector("input[type=file]");
      input.addEventListener("change", () => check(zone, input));
      ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      }));
      ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("dragging")));
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        if (event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          check(zone, input);
        }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
