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
      if (parent) { parent.close(); }
    }
  });

  // The server says an incident was created: close the dialog (the new row is already in).
  document.body.addEventListener("incidentCreated", function () {
    var dialog = document.getElementById("new-incident-dialog");
    if (dialog && dialog.open) { dialog.close(); }
  });
})();
