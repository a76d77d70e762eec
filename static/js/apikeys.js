// Settings → API keys: scope presets in the create dialog, and the copy button for a secret.
(function () {
  "use strict";

  // Choosing a preset ticks its scopes (the server applies the preset too, without JS).
  const presetsNode = document.getElementById("scope-presets");
  const presets = presetsNode ? JSON.parse(presetsNode.textContent) : {};
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.name !== "preset") return;
    const form = input.closest("form");
    const chosen = (presets[input.value] || "").split(" ").filter(Boolean);
    if (!chosen.length) return;
    form.querySelectorAll('input[name="scopes"]').forEach((box) => {
      box.checked = chosen.includes(box.value);
    });
  });
  // Ticking a box by hand means the scopes are custom again.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.name !== "scopes") return;
    const custom = input.form.querySelector('input[name="preset"][value="custom"]');
    if (custom) custom.checked = true;
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const text = document.getElementById(button.dataset.copy)?.textContent.trim() || "";
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 2000);
    };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
      done();
    }
  });
})();
