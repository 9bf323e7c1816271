// Evidence uploads on the incident page: the file input and drag-and-drop send each file at
// once (one request per file, so one too-large file refuses only itself), show it in the list
// while it uploads, then swap in the server's list, which htmx keeps polling while a file is
// pending. Without JavaScript the form posts the files and the page reloads.
(function () {
  "use strict";

  function list() { return document.getElementById("evidence-list"); }

  function swapList(html) {
    var current = list();
    if (!current) return;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#evidence-list");
    if (!fresh) return;
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }

  function placeholder(file) {
    var current = list();
    var items = current.querySelector(".evidence-items");
    if (!items) {
      items = document.createElement("ul");
      items.className = "evidence-items";
      items.setAttribute("aria-label", "Evidence files");
      var empty = current.querySelector(".muted");
      if (empty) empty.remove();
      current.prepend(items);
    }
    var item = document.createElement("li");
    item.className = "evidence-item state-uploading";
    var name = document.createElement("span");
    name.className = "evidence-name";
    name.textContent = file.name;
    var state = document.createElement("span");
    state.className = "evidence-state";
    state.setAttribute("role", "status");
    state.textContent = "uploading";
    item.append(name, " ", state);
    items.append(item);
    return item;
  }

  function upload(form, file) {
    var item = placeholder(file);
    var body = new FormData();
    body.append("file", file, file.name);
    var token = form.querySelector("input[name=csrf_token]").value;
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": token },
    }).then(function (response) {
      return response.text().then(function (html) {
        if ((response.headers.get("Content-Type") || "").indexOf("text/html") === 0 && html.indexOf("evidence-list") !== -1) {
          swapList(html);
        } else {
          item.querySelector(".evidence-state").textContent = "upload failed (" + response.status + ")";
        }
      });
    }).catch(function () {
      item.querySelector(".evidence-state").textContent = "upload failed: check your connection";
    });
  }

  function send(form, files) {
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () { return upload(form, file); });
    });
    return chain;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("evidence-upload");
    if (!form) return;
    form.classList.add("js-enhanced");
    var input = form.querySelector("input[type=file]");
    var zone = document.getElementById("evidence-dropzone");
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      send(form, files).then(function () { input.value = ""; });
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) send(form, event.dataTransfer.files);
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });
})();
