// Incident Tracker front-end glue. No inline scripts anywhere (CSP): behaviour lives here.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token as a header too (Flask-WTF reads X-CSRFToken).
  // The filter form's empty fields stay out of the URL it pushes: "/?q=disk", not "/?q=disk&status=&...".
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
    if (event.detail.verb === "get" && event.detail.elt.id === "filters") {
      var params = event.detail.parameters;
      Object.keys(params).forEach(function (name) {
        if (params[name] === "") { delete params[name]; }
      });
    }
  });

  // A session that ended (signed out elsewhere, disabled, expired) answers an htmx request with
  // the sign-in page: go there for real instead of drawing it inside the table.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !xhr.responseURL) { return; }
    var landed = new URL(xhr.responseURL);
    if (landed.origin === window.location.origin && landed.pathname === "/login") {
      event.detail.shouldSwap = false;
      window.location.assign(landed.href);
    }
  });

  // Native <dialog>: open with a button, close with Cancel or Escape (built in).
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var first = dialog.querySelector("input:not([type=hidden]), textarea, select");
        if (first) { first.focus(); }
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var parent = closer.closest("dialog");
      if (parent) {
        event.preventDefault();
        parent.close();
      }
    }
  });

  // An invalid submission comes back with the fields marked: put the cursor on the first one.
  document.addEventListener("htmx:afterSettle", function () {
    var invalid = document.querySelector("dialog[open] [aria-invalid='true']");
    if (invalid && !invalid.contains(document.activeElement)) { invalid.focus(); }
  });

  // A row's quick status control: a move that needs text (Blocked, Resolved, Reopen, closing an
  // open incident) shows its named field as soon as it is chosen; other moves hide it.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-quick-status]")) { return; }
    var wrapper = select.form && select.form.querySelector(".quick-text");
    if (!wrapper) { return; }
    var option = select.options[select.selectedIndex];
    var label = option && option.getAttribute("data-text-label");
    wrapper.hidden = !label;
    if (label) { wrapper.querySelector("label").textContent = label; }
  });

  // A swapped-in row says where keyboard focus belongs now (the row after a move, the question
  // before closing, the field that needs text): without this it would drop to <body>.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("[data-focus-after-swap]");
    if (target) {
      target.removeAttribute("data-focus-after-swap");
      target.focus();
    }
  });

  // The counters and the total above the table, fetched again from the server (the same
  // request the search box makes), so they include a row that was just added.
  function refreshSummary() {
    var results = document.getElementById("results");
    if (!results || !window.fetch) { return; }
    fetch(window.location.href, { headers: { "HX-Request": "true", "HX-Target": "results" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        [".counters", ".summary"].forEach(function (selector) {
          var current = results.querySelector(selector);
          var replacement = fresh.querySelector(selector);
          if (current && replacement) { current.replaceWith(replacement); }
        });
      });
  }

  // A row's quick status change moves an incident between counters. The row (and its form)
  // has been swapped out by now, so htmx fires this on the nearest surviving ancestor;
  // requestConfig.elt still names the form that sent the request.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.classList && elt.classList.contains("quick-status")) { refreshSummary(); }
  });

  // The server says an incident was created: the new row is already in (out-of-band swap);
  // close the dialog and bring the counters up to date.
  document.body.addEventListener("incidentCreated", function () {
    var dialog = document.getElementById("new-incident-dialog");
    if (dialog && dialog.open) { dialog.close(); }
    var empty = document.querySelector("#results .empty");  // "No incidents match": there is one now
    if (empty) { empty.remove(); }
    refreshSummary();
  });
})();
