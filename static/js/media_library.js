// Media library: drag-and-drop (or chosen) files upload one by one with a progress bar each.
(function () {
  "use strict";

  const zone = document.getElementById("media-drop-zone");
  if (!zone) return;
  const input = document.getElementById("media-file-input");
  const list = document.getElementById("media-upload-list");
  const csrf = zone.querySelector("input[name=csrfmiddlewaretoken]").value;

  function upload(file) {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name + " ";
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const note = document.createElement("span");
    note.className = "muted";
    row.append(name, bar, note);
    list.appendChild(row);

    const body = new FormData();
    body.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", zone.action);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    request.addEventListener("load", () => {
      if (request.status === 201) {
        bar.value = 100;
        note.textContent = " uploaded";
        const cards = document.getElementById("media-cards");
        if (cards) {
          cards.insertAdjacentHTML("afterbegin", request.responseText);
          if (window.htmx) window.htmx.process(cards.firstElementChild);
        }
        document.querySelectorAll("#media-grid > .empty-state").forEach((el) => el.remove());
      } else {
        row.classList.add("row-error");
        note.textContent = " " + (request.status === 422 ? request.responseText : "upload failed (" + request.status + ")");
      }
    });
    request.addEventListener("error", () => {
      row.classList.add("row-error");
      note.textContent = " network error";
    });
    request.send(body);
  }

  function uploadAll(files) {
    Array.from(files).forEach(upload);
  }

  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    })
  );
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    uploadAll(event.dataTransfer.files);
  });
  input.addEventListener("change", () => {
    uploadAll(input.files);
    input.value = "";
  });
  // With scripts on, the plain submit is replaced by the per-file uploads above.
  zone.addEventListener("submit", (event) => {
    event.preventDefault();
    uploadAll(input.files);
  });
})();
