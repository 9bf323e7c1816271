// Evidence uploads on the incident page: the file input and drag-and-drop send each file (one
// request per file, so one too-large file refuses only itself; one after another, so a batch
// does not hold every web worker at once), list every chosen file at once, then swap in the
// server's list, which htmx keeps polling while a file is pending. Without JavaScript the form
// posts the files and the page reloads.
//
// The list is redrawn from the server by three hands: an upload's answer (here), htmx's 2 s
// poll, and app.js's live refresh of the incident page. The server knows nothing of a file
// still on its way or of one it refused, so those entries live here (`ownEntries`) and are put
// back into every new list; and a redraw keeps the keyboard focus on the same control.
(function () {
  "use strict";

  var ownEntries = [];  // <li> elements of files sent from this page that have no row of their own
  var entryCount = 0;
  var listSeen = null;  // the #evidence-list element last adopted
  var focusBefore = null;  // what had focus in the list just before htmx swapped it

  function list() { return document.getElementById("evidence-list"); }

  function announce(text) {
    var news = document.getElementById("announcer");
    if (news) news.textContent = text;
  }

  // ---- Focus across redraws -------------------------------------------------------------
  // A control is known by its entry (the evidence id, or this page's number for a file that
  // has none yet) and by what it does: its aria-label ("Copy SHA-256 of gps.jpg"), else the
  // form it submits (Retry, legal hold: the button's text changes with the state), else its
  // text. Ids on the controls would let htmx do this for the poll, but not for the other two
  // redraws.
  function controlKey(control) {
    var entry = control.closest(".evidence-item");
    var form = control.closest("form");
    return [
      entry ? entry.id || entry.getAttribute("data-upload") : "",
      control.tagName,
      control.getAttribute("aria-label") || (form && form.getAttribute("action")) || control.textContent.trim(),
    ].join("|");
  }

  function rememberFocus(current) {
    var focused = document.activeElement;
    if (!current || !focused || focused === document.body || !current.contains(focused)) return null;
    return { key: controlKey(focused), top: focused.getBoundingClientRect().top };
  }

  // Focus the same control in the new list, without scrolling to it, then scroll by however
  // far it moved, so the control stays where the person was looking.
  function restoreFocus(remembered, fresh) {
    // Only when the redraw took the focus away: never from where the person has moved it since.
    if (!remembered || (document.activeElement && document.activeElement !== document.body)) return;
    var match = null;
    Array.prototype.some.call(fresh.querySelectorAll("a[href], button, input, select, textarea"), function (control) {
      if (controlKey(control) === remembered.key) { match = control; return true; }
      return false;
    });
    if (!match) return;
    match.focus({ preventScroll: true });
    var moved = match.getBoundingClientRect().top - remembered.top;
    if (moved) window.scrollBy(0, moved);
  }

  // ---- Adopting a new list ----------------------------------------------------------------
  function itemsOf(current) {
    var items = current.querySelector(".evidence-items");
    if (items) return items;
    items = document.createElement("ul");
    items.className = "evidence-items";
    items.setAttribute("aria-label", "Evidence files");
    var empty = current.querySelector(":scope > .muted");  // "No files attached yet."
    if (empty) empty.replaceWith(items); else current.prepend(items);
    return items;
  }

  // Runs once for each new #evidence-list, whoever drew it: puts this page's own entries back
  // (after the stored files: the server lists them oldest first) and the focus where it was.
  function adopt(remembered) {
    var current = list();
    if (!current || current === listSeen) return;
    listSeen = current;
    current.addEventListener("htmx:beforeSwap", beforeHtmxSwap);
    if (ownEntries.length) {
      var items = itemsOf(current);
      ownEntries.forEach(function (entry) { items.append(entry); });
    }
    restoreFocus(remembered, current);
  }

  // Listened to on the list itself: htmx fires it on the swap's target, and a target already
  // replaced is out of the document, where a listener on the document would not hear it.
  function beforeHtmxSwap(event) {
    var target = event.detail.target;
    if (!target || target.id !== "evidence-list") return;
    if (!document.body.contains(target)) {
      // The answer to a poll sent before this list was redrawn: it is older than what is shown.
      event.detail.shouldSwap = false;
      return;
    }
    // (A poll that lands on the sign-in page is app.js's: it goes there.)
    focusBefore = rememberFocus(target);
  }

  function swapList(fresh) {
    var current = list();
    if (!current) return;
    var remembered = rememberFocus(current);
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    adopt(remembered);
  }

  // ---- Reading the server's answer --------------------------------------------------------
  function signInUrl() {
    var form = document.getElementById("evidence-upload");
    return new URL((form && form.getAttribute("data-sign-in-url")) || "/login", window.location.href);
  }

  function isSignIn(address) {
    return new URL(address, window.location.href).pathname === signInUrl().pathname;
  }

  function sessionEnded(before) {
    var text = document.createElement("p");
    text.className = "evidence-reason";
    var link = document.createElement("a");
    link.href = signInUrl().href;
    link.textContent = "Sign in again";
    text.append(before, link, ".");
    return text;
  }

  function clean(text) { return (text || "").replace(/\s+/g, " ").trim(); }

  // The server's own words: problem+json's detail, the error paragraph of an HTML answer (the
  // list's message, the error partial, an error page), else a short plain-text body.
  function serverWords(response, body) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("json") !== -1) {
      try {
        var problem = JSON.parse(body);
        return clean(problem.detail || problem.title || problem.message);
      } catch (error) {
        return "";
      }
    }
    if (type.indexOf("text/html") === 0) {
      var page = new DOMParser().parseFromString(body, "text/html");
      var said = page.querySelector("[role=alert], .error") || page.querySelector("main p, body p") || page.querySelector("h1");
      return clean(said ? said.textContent : page.title);
    }
    var plain = clean(body);
    return plain.length <= 300 ? plain : "";
  }

  function freshList(response, body) {
    if ((response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) return null;
    var holder = document.createElement("template");
    holder.innerHTML = body;
    return holder.content.querySelector("#evidence-list");
  }

  // ---- This page's own entries ------------------------------------------------------------
  function addEntry(file) {
    entryCount += 1;
    var entry = document.createElement("li");
    entry.className = "evidence-item state-uploading";  // app.js leaves a list with one alone
    entry.setAttribute("data-upload", "upload-" + entryCount);
    var main = document.createElement("div");
    main.className = "evidence-main";
    var name = document.createElement("span");
    name.className = "evidence-name";
    name.textContent = file.name;
    var state = document.createElement("span");
    state.className = "evidence-state";
    state.setAttribute("role", "status");
    state.textContent = "waiting to upload";
    main.append(name, " ", state);
    entry.append(main);
    ownEntries.push(entry);
    var current = list();
    if (current) itemsOf(current).append(entry);
    return entry;
  }

  function setState(entry, text) { entry.querySelector(".evidence-state").textContent = text; }

  function forget(entry) {
    ownEntries = ownEntries.filter(function (own) { return own !== entry; });
    entry.remove();
  }

  // A file that was not stored keeps its entry (until the page is reloaded), with the reason.
  function refuse(entry, label, reason) {
    entry.className = "evidence-item state-refused";
    var state = entry.querySelector(".evidence-state");
    state.classList.add("evidence-state-refused");
    state.textContent = label;
    if (typeof reason === "string") {
      var text = document.createElement("p");
      text.className = "evidence-reason";
      text.textContent = reason;
      reason = text;
    }
    entry.querySelector(".evidence-main").append(reason);
    announce(entry.querySelector(".evidence-name").textContent + " was not stored: " + reason.textContent);
  }

  function answered(entry, response, body) {
    if (isSignIn(response.url)) {
      // login_required redirected the upload to the sign-in page, which fetch followed.
      refuse(entry, "refused", sessionEnded("Your session has ended, so this file was not stored. "));
      return;
    }
    var fresh = freshList(response, body);
    if (response.status === 201 && fresh) {
      forget(entry);  // the server's list has its row now
      swapList(fresh);
      return;
    }
    var reason = serverWords(response, body) ||
      "The upload did not go through (the server answered " + response.status + " " + response.statusText + ").";
    refuse(entry, "refused", reason);
    if (fresh) {
      // A refusal comes with the current list and the reason above it: the reason is on the
      // file's own entry now, where the next file's answer does not wipe it out.
      var message = fresh.querySelector(":scope > .error");
      if (message) message.remove();
      swapList(fresh);
    }
  }

  function upload(form, file, entry) {
    setState(entry, "uploading");
    var body = new FormData();
    body.append("file", file, file.name);
    var token = form.querySelector("input[name=csrf_token]").value;
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": token },
    }).then(function (response) {
      return response.text().then(function (text) { answered(entry, response, text); });
    }, function () {
      refuse(entry, "upload failed", "The server could not be reached, so this file was not stored. Check your connection and choose it again.");
    });
  }

  function send(form, files) {
    files = Array.prototype.slice.call(files);
    var entries = files.map(addEntry);  // every chosen file is listed at once
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () { return upload(form, file, entries[index]); });
    });
    return chain;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var current = list();
    if (current) {
      adopt(null);
      // A list drawn by htmx's poll or app.js's refresh. The observer runs before the page is
      // painted again, so the entries put back never blink.
      new MutationObserver(function () {
        var remembered = focusBefore;
        focusBefore = null;
        adopt(remembered);
      }).observe(current.parentNode, { childList: true });
    }
    var form = document.getElementById("evidence-upload");
    if (!form) return;
    form.classList.add("js-enhanced");
    var input = form.querySelector("input[type=file]");
    var zone = document.getElementById("evidence-dropzone");
    input.addEventListener("change", function () {
      send(form, input.files).then(function () { input.value = ""; });
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
