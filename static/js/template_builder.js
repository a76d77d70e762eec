// Template builder: a WhatsApp-style preview that follows the form as you type.
(function () {
  "use strict";

  const form = document.getElementById("template-builder");
  if (!form) return;
  const field = (name) => form.querySelector(`[data-builder="${name}"]`);
  const value = (name) => (field(name) ? field(name).value : "");
  const part = (name) => document.querySelector(`[data-preview="${name}"]`);

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // WhatsApp's own markup: *bold*, _italic_, ~strikethrough~ (applied after escaping).
  function formatted(text) {
    return escapeHtml(text)
      .replace(/\*([^*\n]+)\*/g, "<strong>$1</strong>")
      .replace(/_([^_\n]+)_/g, "<em>$1</em>")
      .replace(/~([^~\n]+)~/g, "<del>$1</del>")
      .replace(/\n/g, "<br>");
  }

  // {{n}} takes the n-th sample value, or stays visible when there is none yet.
  function fill(text, samples) {
    return text.replace(/\{\{\s*(\d+)\s*\}\}/g, (whole, n) => samples[Number(n) - 1] || whole);
  }

  function lines(text) {
    return text.split("\n").map((line) => line.trim()).filter(Boolean);
  }

  function showHeaderFields(format) {
    form.querySelectorAll("[data-show-for-header]").forEach((box) => {
      box.hidden = !box.dataset.showForHeader.split(" ").includes(format);
    });
  }

  function render() {
    const format = value("header_format");
    showHeaderFields(format);

    const header = part("header");
    header.classList.toggle("hidden", !format);
    if (format === "TEXT") {
      header.innerHTML = `<strong>${formatted(fill(value("header_text"), [value("header_example")]))}</strong>`;
    } else if (format) {
      header.innerHTML = `<div class="wa-media">${escapeHtml(format.charAt(0) + format.slice(1).toLowerCase())}</div>`;
    } else {
      header.innerHTML = "";
    }

    const body = value("body");
    part("body").innerHTML = body ? formatted(fill(body, lines(value("body_examples")))) : '<span class="muted">Your message</span>';
    const counter = document.querySelector('[data-counter="body"]');
    if (counter) {
      counter.textContent = String(body.length);
      counter.classList.toggle("row-error", body.length > 1024);
    }

    const footer = part("footer");
    footer.textContent = value("footer");
    footer.classList.toggle("hidden", !value("footer"));

    const buttons = part("buttons");
    buttons.innerHTML = "";
    for (let n = 0; field(`button_${n}_type`); n += 1) {
      const type = value(`button_${n}_type`);
      if (!type) continue;
      const icon = { URL: "↗ ", PHONE_NUMBER: "☎ ", COPY_CODE: "⧉ " }[type] || "";
      const label = type === "COPY_CODE" ? "Copy code" : value(`button_${n}_text`) || "Button";
      const item = document.createElement("div");
      item.className = "wa-button";
      item.textContent = icon + label;
      buttons.appendChild(item);
    }
  }

  form.addEventListener("input", render);
  form.addEventListener("change", render);
  render();
})();
