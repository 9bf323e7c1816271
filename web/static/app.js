// Incident Tracker front-end glue. No inline scripts anywhere (CSP): behaviour lives here.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token as a header too (Flask-WTF reads X-CSRFToken).
  // The search box is the one source of truth of the filters: the dropdowns have written their
  // qualifiers into it already, so only q (when not empty) goes into the URL: "/?q=status:open disk".
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
    // A dashboard row's move says when the list was drawn (the newest audit event then, renewed
    // by every search and live refresh): if someone changed the incident since, the refusal
    // names them. Rows are cached HTML shared by every viewer, so it is added here.
    // A row answered to this tab's own move, or kept through a live refresh while busy, carries
    // its own marker (the list's would be newer than what the row shows, or count this tab's
    // move as "another tab").
    var state = document.getElementById("filter-state");
    if (state && event.detail.verb === "post" && event.detail.elt.matches && event.detail.elt.matches("form.quick-status")) {
      var row = event.detail.elt.closest("tr");
      event.detail.parameters.seen_event = (row && row.getAttribute("data-seen-event")) || state.getAttribute("data-seen-event") || "";
    }
    // Any request a row makes (a move, Undo, the Close question's Cancel) sends the search the
    // list answers: the row drawn again keeps its "Matched in …" hint (the server works it out).
    var query = state && state.getAttribute("data-query");
    if (query && event.detail.elt.closest && event.detail.elt.closest("#incident-rows > tr")) {
      event.detail.parameters.q = query;
    }
    if (event.detail.verb === "get" && event.detail.elt.id === "filters") {
      var params = event.detail.parameters;
      Object.keys(params).forEach(function (name) {
        if (name !== "q" || params[name] === "") { delete params[name]; }
      });
    }
  });

  // Dropdown -> search box. Runs in the capture phase, before htmx's own change listener sends
  // the search: picking "Blocked" replaces any status qualifier in the box with status:blocked
  // (and "Active"/"Any" removes it), so the box and the dropdowns never disagree.
  var QUALIFIER_NAMES = {
    status: ["status", "is"],
    priority: ["priority", "prio"],
    owner: ["owner", "assignee"],
    component: ["component", "comp"],
    env: ["env", "environment"],
    sort: ["sort"]
  };

  // The server's tokens (shared/incidents/search.py): owner:"Lee Lead" is one token.
  var TOKEN = /-?[^\s:"]+:(?:"[^"]*"?|[^\s"]+)+|"[^"]*"?|\S+/g;

  function withQualifier(text, qualifier, value) {
    var names = QUALIFIER_NAMES[qualifier] || [qualifier];
    var kept = (text.match(TOKEN) || []).filter(function (token) {
      if (!token) { return false; }
      var bare = token.charAt(0) === "-" ? token.slice(1) : token;
      var colon = bare.indexOf(":");
      return colon < 1 || names.indexOf(bare.slice(0, colon).toLowerCase()) < 0;
    });
    if (value) {
      var negated = value.charAt(0) === "-";
      var bare = (negated ? value.slice(1) : value).toLowerCase();
      kept.unshift((negated ? "-" : "") + qualifier + ":" + (/\s/.test(bare) ? '"' + bare + '"' : bare));
    }
    return kept.join(" ");
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("#filters select[data-qualifier]")) { return; }
    var search = document.getElementById("search");
    if (search) { search.value = withQualifier(search.value, select.getAttribute("data-qualifier"), select.value); }
  }, true);

  // Search box -> dropdowns: every answer carries what the query means for each dropdown
  // (#filter-state); values that are no option (two statuses, a partial owner name) get one.
  function showFilterState() {
    var state = document.getElementById("filter-state");
    if (!state) { return; }
    document.querySelectorAll("#filters select[data-qualifier]").forEach(function (select) {
      var value = state.getAttribute("data-" + select.name) || "";
      Array.prototype.forEach.call(select.querySelectorAll("option[data-from-query]"), function (option) {
        if (option.value !== value) { option.remove(); }
      });
      var known = Array.prototype.some.call(select.options, function (option) { return option.value === value; });
      if (!known) {
        var option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        option.setAttribute("data-from-query", "");
        select.appendChild(option);
      }
      if (select.value !== value) { select.value = value; }
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "results") { showFilterState(); }
  });

  // A search that gets no answer must not leave the old list looking like its answer.
  function searchFailed(text) {
    var notice = document.getElementById("search-failed");
    if (!notice) { return; }
    notice.textContent = text;
    notice.hidden = !text;
  }
  function isSearch(event) {
    return event.detail.target && event.detail.target.id === "results";
  }
  document.addEventListener("htmx:responseError", function (event) {
    if (!isSearch(event)) { return; }
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 414) {  // a pasted stack trace: the address has a length limit
      searchFailed("The search is too long to send (a few thousand characters at most): the list below is " +
        "from before it. Shorten it: only the first 32 words are searched anyway.");
      return;
    }
    searchFailed("The search failed (the server answered " + status + "): the list below is from before it. " +
      "Try again, or change the search.");
  });

  // The New incident dialog and a dashboard row say so in place when a request of theirs gets
  // no answer they can show (a 400, a 500, a bare error message where a form or a row belongs):
  // htmx swaps no error, and the dialog stayed open and the row as it was, in silence (found by
  // a security probe). The app's own error answers name what to do; a proxy's page does not.
  // (A session that ended answers with the sign-in page, which goes there instead: above.)
  function requestFailedSpot(elt) {
    var form = elt && elt.closest && elt.closest("#new-incident-form");
    if (form) { return { place: form, first: true, answered: /id="new-incident-form"/ }; }
    var cell = elt && elt.closest && elt.closest("#incident-rows > tr > td");
    return cell ? { place: cell, first: false, answered: /<tr[\s>]/i } : null;
  }
  function sayRequestFailed(spot, text) {
    var notice = spot.place.querySelector(":scope > [data-request-failed]");
    if (!notice) {
      notice = document.createElement("p");
      notice.className = spot.first ? "error" : "field-error";
      notice.setAttribute("role", "alert");
      notice.setAttribute("data-request-failed", "");
      spot.place.insertBefore(notice, spot.first ? spot.place.firstChild : null);
    }
    notice.textContent = text;
  }
  function errorAnswerWords(xhr) {
    var said = new DOMParser().parseFromString(xhr.responseText || "", "text/html").querySelector("p.error");
    return said && said.textContent.trim() ? said.textContent.trim() :
      "Nothing was changed: the server answered " + xhr.status + ". Reload the page and try again.";
  }
  function requestElt(event) {
    return (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var spot = xhr && xhr.status >= 400 && requestFailedSpot(requestElt(event));
    if (!spot || spot.answered.test(xhr.responseText || "")) { return; }
    event.detail.shouldSwap = false;
    event.detail.isError = false;  // said here, to the person; not also an htmx console error
    sayRequestFailed(spot, errorAnswerWords(xhr));
  });
  document.addEventListener("htmx:sendError", function (event) {
    var spot = requestFailedSpot(requestElt(event));
    if (spot) {
      sayRequestFailed(spot, "The server could not be reached: nothing was changed. Check your connection and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (!isSearch(event)) { return; }
    searchFailed("The server could not be reached: the list below is from before your search. " +
      "Check your connection and try again.");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (isSearch(event)) { searchFailed(""); }
  });
  // Back/forward restores the page from htmx's snapshot, where typed values are not kept.
  document.addEventListener("htmx:historyRestore", function () {
    var search = document.getElementById("search");
    if (search) { search.value = new URLSearchParams(window.location.search).get("q") || ""; }
    showFilterState();
  });

  // Back or Forward while a search is under way: its answer belongs to the page that was left.
  // Once the restored page has replaced the form, htmx still puts the late answer's address
  // over the one Back went to (its other events no longer reach the document, this one does),
  // so the page shows one search under another's address. That address goes nowhere. Only
  // htmx's own history entries count: following the skip link's #main is no move away.
  var historyMoves = 0;
  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.htmx) { historyMoves += 1; }
  });
  document.addEventListener("htmx:beforeSend", function (event) {
    if (event.detail.xhr) { event.detail.xhr.historyMovesAtSend = historyMoves; }
  });
  function sentBeforeAHistoryMove(xhr) {
    return !!xhr && xhr.historyMovesAtSend !== undefined && xhr.historyMovesAtSend !== historyMoves;
  }

  // History: the first pause of a run of typing adds an entry, the next pauses replace it, so
  // Back leads to what was there before typing began, not through every prefix typed. Enter,
  // a dropdown or a counter adds an entry (unless the URL is the same).
  // Whether a search comes from typing is decided when it is sent (its answer may arrive after
  // more keys). Chromium also fires "search" when the box is emptied: only Enter, with no
  // typing since, counts as a commit.
  var typingRun = false;
  var enterAt = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.id === "search") { enterAt = Date.now(); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "search") { enterAt = 0; }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== "filters") { return; }
    var type = event.detail.triggeringEvent && event.detail.triggeringEvent.type;
    event.detail.fromTyping = type === "input" || (type === "search" && Date.now() - enterAt > 1000);
  });
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var config = event.detail.requestConfig;
    var history = event.detail.history;
    if (history && sentBeforeAHistoryMove(event.detail.xhr)) {
      history.type = "replace";  // with the address Back went to: nothing changes
      history.path = window.location.pathname + window.location.search + window.location.hash;
      return;
    }
    if (!config || !config.elt || config.elt.id !== "filters" || !history) { return; }
    var typing = !!config.fromTyping;
    var same = history.path === window.location.pathname + window.location.search;
    if ((typing && typingRun) || same) { history.type = "replace"; }
    typingRun = typing;
  });

  // A session that ended (signed out elsewhere, disabled, expired) answers an htmx request with
  // the sign-in page: go there for real instead of drawing it inside the table. A search returns
  // to what the box says now, not to what it said when the request left: a pause mid-word sends
  // "ka", and the person has typed "kafka" by the time the answer comes.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !xhr.responseURL) { return; }
    var landed = new URL(xhr.responseURL);
    if (landed.origin === window.location.origin && landed.pathname === "/login") {
      event.detail.shouldSwap = false;
      var config = event.detail.requestConfig;  // (the event itself goes to the swap's target)
      var filters = config && config.elt && config.elt.id === "filters" ? config.elt : null;
      var search = document.getElementById("search");
      if (filters && search && landed.searchParams.has("next")) {
        var back = new URL(filters.action);
        back.search = search.value ? new URLSearchParams({ q: search.value }).toString() : "";
        landed.searchParams.set("next", back.pathname + back.search);
      }
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

  // A polite word for screen readers (#announcer, base.html), after the page has settled: a
  // live region's change as the page loads can go unread.
  function announce(text) {
    var news = document.getElementById("announcer");
    if (!news || !text) { return; }
    window.setTimeout(function () { news.textContent = text; }, 150);
  }

  // "Add a comment" near the incident page's moves: the comment box is below the whole timeline
  // (screens down on a phone). The link alone scrolls there; this puts the cursor in it too.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-focus-field]");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });

  // A table that scrolls sideways in its own box is a Tab stop (the arrow keys scroll it; the
  // page draws it so, for readers without script). One that fits, such as the incident list as
  // cards on a phone, is not: Tab would outline the whole list and move the page for nothing.
  function tabToScrollingTablesOnly() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box !== document.activeElement) {
        box.removeAttribute("tabindex");
      }
    });
  }
  tabToScrollingTablesOnly();
  window.addEventListener("resize", tabToScrollingTablesOnly);
  document.addEventListener("htmx:afterSettle", tabToScrollingTablesOnly);

  // An invalid submission comes back with the fields marked: put the cursor on the first one.
  document.addEventListener("htmx:afterSettle", function () {
    var invalid = document.querySelector("dialog[open] [aria-invalid='true']");
    if (invalid && !invalid.contains(document.activeElement)) { invalid.focus(); }
  });
  // The same for a whole page drawn after a refused form (profile, passwords, tokens, users,
  // the incident page): the cursor goes to the first field to fix, which reads out its message
  // (aria-describedby), instead of the top of a page whose error may sit below the fold on a
  // phone. Unless the page put focus somewhere itself (autofocus, a confirmation's heading).
  (function focusFirstInvalidField() {
    // (Autofocus is applied after deferred scripts run, so it is looked for, not waited for.)
    if (document.querySelector("[autofocus]")) { return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid) { invalid.focus(); }
  })();
  // A page drawn after an action (a post, then back to a page) says what happened in a flash
  // message: "INC-29 is now Closed." after a move on the incident page, "Saved the view …" on
  // the dashboard. A status message already there when a page loads is not read out, and
  // focus would start again at the top: it goes to the message, so a screen reader reads it
  // and Tab goes on from there. Not where the page put focus itself (autofocus, a field to fix)
  // or the address names a part of the page to land on (#follow-ups). A refusal drawn with
  // the page ("Lee Lead changed INC-2 since you opened it. What changed: …") is read out as an
  // alert, and takes focus the same way when no field is there to fix.
  (function focusTheMessage() {
    if (document.querySelector("[autofocus]") || window.location.hash) { return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var message = document.querySelector("main .flash, main p.error[role='alert']");
    if (!message) { return; }
    message.setAttribute("tabindex", "-1");
    message.focus();
  })();
  // After Add comment the page lands on the new comment (#comment-N, scrolled to and outlined)
  // and says so in a flash message up top, out of sight: focus goes to the comment itself, and
  // what the message says is read out. (A permalink opened anew has a hash but no message.)
  (function focusWhatWasAdded() {
    var id = window.location.hash.slice(1);
    var message = id && document.querySelector("main .flash");
    var entry = message && document.getElementById(decodeURIComponent(id));
    if (!entry || !entry.closest("#incident-timeline")) { return; }
    if (document.querySelector("[autofocus]")) { return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    if (!entry.hasAttribute("tabindex")) { entry.setAttribute("tabindex", "-1"); }
    entry.focus({ preventScroll: true });
    announce(message.textContent.trim());
  })();

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
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = document.querySelector("[data-focus-after-swap]");
    if (target) {
      target.removeAttribute("data-focus-after-swap");
      target.focus();
      return;
    }
    // Cancel on a question ("Close INC-n?") puts back what was asked about, a dashboard row or
    // the incident page's Closed form (the same id): back to its control, the row's status
    // select or the Closed button (the link that had focus is gone with the question).
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.hasAttribute("data-cancel-question") && event.detail.target) {
      var asked = document.getElementById(event.detail.target.id);
      var control = asked && asked.querySelector("select[data-quick-status], button[type=submit]");
      if (control) { control.focus(); }
    }
  });
  // The incident page's Closed form posts with htmx only to be asked "Close INC-n?" in its
  // place; when the server has no question to ask (a refusal: the incident changed meanwhile,
  // a reason is missing), its answer is the whole page, so the form is sent again as a page.
  document.addEventListener("answerIsAPage", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) {
      submittingAPage = true;  // (submit() fires no submit event: htmx lets it through)
      form.submit();
    }
  });

  // Drafts of a new incident survive an expired session. What is typed is kept in this tab's
  // sessionStorage (never sent anywhere). A submit marks the draft "pending"; if the session
  // had ended, the sign-in page returns to the full-page form, which the server marks
  // (data-draft-restore) for that one drawing, and the pending draft is put back there.
  // Creating the incident, Cancel and signing out discard it; a draft of another person is
  // never shown.
  var DRAFT_KEY = "incident-tracker:new-incident-draft";
  var DRAFT_FIELDS = ["title", "description", "priority", "component", "environment", "owner", "due_date"];

  function readDraft() {
    try { return JSON.parse(window.sessionStorage.getItem(DRAFT_KEY) || "null"); } catch (error) { return null; }
  }

  function writeDraft(draft) {
    try { window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft)); } catch (error) { /* storage off: no draft */ }
  }

  function discardDraft() {
    try { window.sessionStorage.removeItem(DRAFT_KEY); } catch (error) { /* nothing kept */ }
  }

  function saveDraft(form, pending) {
    var fields = {};
    DRAFT_FIELDS.forEach(function (name) {
      if (form.elements[name]) { fields[name] = form.elements[name].value; }
    });
    writeDraft({ owner: form.getAttribute("data-draft-owner"), fields: fields, pending: !!pending });
  }

  function restoreDraft() {
    var draft = readDraft();
    if (!draft || !draft.pending) { return; }
    var form = document.getElementById("new-incident-form");
    if (!form) {
      // Submitted from the full-page form and landed elsewhere than the sign-in page: created.
      if (window.location.pathname !== "/login") { discardDraft(); }
      return;
    }
    if (draft.owner !== form.getAttribute("data-draft-owner")) { return; }
    if (!form.hasAttribute("data-draft-restore")) {
      // Not where a sign-in returned to: the submission got through. Either this form is the
      // refused answer, already holding what was sent (and maybe being corrected before this
      // script ran), or the person left the new incident's page before its script had run.
      writeDraft({ owner: draft.owner, fields: draft.fields, pending: false });
      return;
    }
    DRAFT_FIELDS.forEach(function (name) {
      var field = form.elements[name];
      var value = draft.fields && draft.fields[name];
      if (!field || value === undefined) { return; }
      if (field.tagName === "SELECT" && !Array.prototype.some.call(field.options, function (o) { return o.value === value; })) { return; }
      field.value = value;
    });
    writeDraft({ owner: draft.owner, fields: draft.fields, pending: false });
    var note = form.querySelector("[data-draft-restored]");
    if (note) { note.hidden = false; }
    if (form.elements.title) { form.elements.title.focus(); }
  }

  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.form;
      if (form && form.id === "new-incident-form") { saveDraft(form, false); }
    });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "new-incident-form") { saveDraft(form, true); }
    // "Save view" saves what the search box says now, not what it said when the page was drawn.
    var search = document.getElementById("search");
    if (form.id === "save-view-form" && search) { form.elements.q.value = search.value; }
    if (form.getAttribute("action") === "/logout") { discardDraft(); }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("#new-incident-form [data-close-dialog]")) { discardDraft(); }
  });
  // A refused (422) dialog form comes back with everything typed: no longer pending.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    var landedOnLogin = xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login";
    if (elt && elt.id === "new-incident-form" && !landedOnLogin) {
      var draft = readDraft();
      if (draft) { draft.pending = false; writeDraft(draft); }
    }
  });
  document.body.addEventListener("incidentCreated", discardDraft);
  restoreDraft();  // the script is deferred: the document is parsed by now

  // A comment typed on the incident page and not posted yet survives the page being drawn
  // anew: a move, Watch or any other form there reloads the page, a refused move answers with
  // the whole page (and after a session that ended, the incident opened again in this tab). It
  // is kept per incident in this tab's sessionStorage (never sent anywhere) as it is typed, and
  // put back into an empty comment box, which then says so. Add comment marks it pending; the page then landing on
  // the new comment (#comment-N) means it was posted, and only that discards it. Signing out
  // discards every one; a draft of another person is never shown.
  var COMMENT_DRAFT_PREFIX = "incident-tracker:comment-draft:";

  function commentDraftKey(form) {
    return COMMENT_DRAFT_PREFIX + form.getAttribute("data-comment-draft");
  }

  function saveCommentDraft(form, pending) {
    var text = form.elements.body ? form.elements.body.value : "";
    try {
      if (!text.trim()) {
        window.sessionStorage.removeItem(commentDraftKey(form));
        return;
      }
      window.sessionStorage.setItem(commentDraftKey(form), JSON.stringify({
        owner: form.getAttribute("data-draft-owner"), text: text, pending: !!pending
      }));
    } catch (error) { /* storage off: no draft */ }
  }

  function discardCommentDrafts() {
    try {
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf(COMMENT_DRAFT_PREFIX) === 0) { window.sessionStorage.removeItem(key); }
      });
    } catch (error) { /* nothing kept */ }
  }

  (function restoreCommentDraft() {
    var form = document.querySelector("form[data-comment-draft]");
    var box = form && form.elements.body;
    if (!box) { return; }
    var draft;
    try { draft = JSON.parse(window.sessionStorage.getItem(commentDraftKey(form)) || "null"); } catch (error) { draft = null; }
    if (!draft || draft.owner !== form.getAttribute("data-draft-owner")) { return; }
    var hash = window.location.hash;
    if (draft.pending && /^#comment-\d+$/.test(hash) && document.getElementById(hash.slice(1))) {
      try { window.sessionStorage.removeItem(commentDraftKey(form)); } catch (error) { /* nothing kept */ }
      return;
    }
    // Text in the box already (a refused comment drawn with what was sent, or the browser's own
    // restoring) is what the person sees: it is kept, not replaced.
    if (!box.value.trim()) {
      box.value = draft.text;
      var note = form.querySelector("[data-draft-note]");
      if (note) { window.setTimeout(function () { note.textContent = "Your unposted comment was kept."; }, 150); }
    }
    saveCommentDraft(form, false);
    // Back from signing in again (the session had ended while the comment was being written):
    // the cursor goes back to the end of the comment, not to the top of the page. Not where the
    // page put focus itself (a message, a field to fix).
    var fromSignIn = false;
    try { fromSignIn = !!document.referrer && new URL(document.referrer).pathname === "/login"; } catch (error) { /* none */ }
    if (fromSignIn && !document.querySelector("[autofocus]") && (!document.activeElement || document.activeElement === document.body)) {
      box.scrollIntoView({ block: "center" });
      box.focus({ preventScroll: true });
      box.setSelectionRange(box.value.length, box.value.length);
    }
  })();

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-comment-draft") && event.target.name === "body") { saveCommentDraft(form, false); }
  });

  // Signing out discards every comment draft (the next person at this browser must not find
  // one), so with a comment typed here and not posted it asks first, as leaving the page does;
  // Cancel keeps the page, the comment and the session. Before every other submit listener
  // (capture): a refusal must not let them discard the drafts or count the page as left.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.getAttribute || form.getAttribute("action") !== "/logout") { return; }
    var box = document.querySelector("form[data-comment-draft] textarea[name=body]");
    if (!box || !box.value.trim()) { return; }
    var key = box.form.getAttribute("data-comment-draft");
    if (!window.confirm("Sign out and discard your unposted comment on " + key + "?")) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Leaving the incident page with a comment typed and not posted asks first. Not when a form
  // on the page is sent (a move, Watch, Add comment itself): the draft survives that. A form
  // htmx sends in place (the Closed question) does not leave the page.
  var submittingAPage = false;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-comment-draft")) { saveCommentDraft(form, true); }
    if (form.getAttribute && form.getAttribute("action") === "/logout") { discardCommentDrafts(); }
    if (!event.defaultPrevented) { submittingAPage = true; }
  });
  window.addEventListener("pageshow", function () { submittingAPage = false; });
  window.addEventListener("beforeunload", function (event) {
    var box = document.querySelector("form[data-comment-draft] textarea[name=body]");
    if (submittingAPage || !box || !box.value.trim()) { return; }
    event.preventDefault();
    event.returnValue = "";  // (older browsers ask only when this is set)
  });

  // A row somebody is working in: focus inside it, a move chosen or text typed, a question,
  // a message or an Undo showing. A refresh leaves such a row exactly as it is.
  function rowIsBusy(row) {
    if (row.contains(document.activeElement)) { return true; }
    if (row.querySelector(".notice-line, .field-error, form.confirm")) { return true; }
    var select = row.querySelector("select[data-quick-status]");
    var reason = row.querySelector(".quick-text input");
    return !!((select && select.value) || (reason && reason.value));
  }

  // The rows, fetched again. Rows nobody is working in are replaced; a busy row is never
  // moved or replaced (moving an element takes the keyboard focus out of it): the fresh rows
  // are placed around it, in the server's order.
  function refreshRows(current, fresh) {
    var tbody = current.querySelector("#incident-rows");
    var freshBody = fresh.querySelector("#incident-rows");
    if (!tbody || !freshBody) { return; }
    var busy = {};
    var state = document.getElementById("filter-state");
    var drawnAfter = state ? state.getAttribute("data-seen-event") : null;
    Array.prototype.slice.call(tbody.children).forEach(function (row) {
      if (rowIsBusy(row)) {
        busy[row.id] = row;
        // It stays as drawn while the list's marker moves on: it keeps the older one.
        if (drawnAfter && !row.hasAttribute("data-seen-event")) { row.setAttribute("data-seen-event", drawnAfter); }
      } else {
        row.remove();
      }
    });
    var cursor = tbody.firstElementChild;
    Array.prototype.slice.call(freshBody.children).forEach(function (row) {
      var kept = busy[row.id];
      if (kept) {
        if (kept === cursor) { cursor = cursor.nextElementSibling; }
        return;
      }
      var added = document.importNode(row, true);
      tbody.insertBefore(added, cursor);
      if (window.htmx) { window.htmx.process(added); }
    });
  }

  // The counters and the total above the table, fetched again from the server (the same
  // request the search box makes), so they include a row that was just added. With `rows`,
  // the table's rows too (the live dashboard). An answer for an address the page has left
  // meanwhile (another search, Back) is not drawn: it would put the old search's rows and
  // counts under the new one.
  function refreshSummary(rows) {
    var results = document.getElementById("results");
    if (!results || !window.fetch) { return Promise.resolve(); }
    var asked = window.location.href;
    return fetch(asked, { headers: { "HX-Request": "true", "HX-Target": "results" } })
      .then(function (response) {
        if (!response.ok || new URL(response.url).pathname === "/login") { return ""; }
        return response.text();
      })
      .then(function (html) {
        if (!html || window.location.href !== asked) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        if (rows) { refreshRows(results, fresh); }
        var selectors = rows ? [".counters", ".summary", ".pager", "#filter-state"] : [".counters", ".summary"];
        selectors.forEach(function (selector) {
          var current = results.querySelector(selector);
          var replacement = fresh.querySelector(selector);
          if (current && replacement) { current.replaceWith(document.importNode(replacement, true)); }
        });
        // "No incidents match" goes once a row is there (a new incident that matches).
        var empty = results.querySelector(".empty");
        if (empty && !fresh.querySelector(".empty")) { empty.remove(); }
      });
  }

  // Live pages: other people's changes appear without a reload. Polling with an ETag (why not
  // server-sent events: see LIVE_POLL_SECONDS in web/incidents/views.py): the changes URL
  // answers 304 while the marker is the one the page was drawn with; when it differs,
  // `refresh` fetches what changed and merges it in without moving focus or scroll. A hidden
  // tab waits; a signed-out page stops asking.
  function pollForChanges(stateId, changesUrl, refresh) {
    var state = document.getElementById(stateId);
    var seconds = state ? parseFloat(state.getAttribute("data-poll-seconds")) || 10 : 10;
    var again = function () { pollForChanges(stateId, changesUrl, refresh); };
    window.setTimeout(function () {
      var current = document.getElementById(stateId);
      if (!current || document.hidden || !window.fetch) { again(); return; }
      var marker = current.getAttribute("data-change-marker") || "";
      fetch(changesUrl(current), { headers: { "If-None-Match": '"' + marker + '"' }, cache: "no-store" })
        .then(function (response) {
          if (new URL(response.url).pathname === "/login") { return "stop"; }  // signed out: stop asking
          var etag = (response.headers.get("ETag") || "").replace(/"/g, "");
          if (response.status === 304 || !etag || etag === marker) { return null; }
          return refresh();
        })
        .then(function (result) { if (result !== "stop") { again(); } }, again);
    }, seconds * 1000);
  }
  if (document.getElementById("filter-state")) {
    pollForChanges("filter-state", function () { return "/changes"; }, function () { return refreshSummary(true); });
  }

  // The live incident page: these parts are fetched again when the incident changes. One
  // someone is working in is left as it is (focus inside, a field changed from what was drawn,
  // an error beside a field, a file still uploading), and the page then keeps its old marker,
  // so the next poll tries again once they are done. A stale part stays safe meanwhile: its
  // forms carry the version they were drawn from, and a move on a stale version is refused.
  var INCIDENT_PARTS = ["incident-head", "incident-details", "incident-actions", "follow-ups", "evidence-list", "incident-timeline"];

  function fieldChanged(field) {
    if (field.tagName === "SELECT") {
      var drawn = 0;  // a select without a `selected` option shows its first one
      Array.prototype.forEach.call(field.options, function (option, index) { if (option.defaultSelected) { drawn = index; } });
      return field.selectedIndex !== drawn;
    }
    if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
    if (field.type === "hidden" || field.type === "file") { return false; }
    return field.value !== field.defaultValue;
  }

  // The timeline entry the page put keyboard focus on (the new comment, after Add comment): the
  // timeline is redrawn all the same, focus then going to the redrawn entry, or it would stay
  // still for as long as focus rests there.
  function landedOn(element) {
    return !!element && !!element.matches && element.matches("#incident-timeline li[id][tabindex='-1']");
  }

  function partIsBusy(part) {
    if (part.contains(document.activeElement) && !landedOn(document.activeElement)) { return true; }
    if (part.querySelector(".field-error, [aria-invalid='true'], .error, .state-uploading, form.confirm")) { return true; }
    return Array.prototype.some.call(part.querySelectorAll("input, textarea, select"), fieldChanged);
  }

  // A permalink (/incidents/INC-12#comment-34) outlines its entry through :target; an entry
  // redrawn by the live refresh is a new element, which :target no longer matches (the browser
  // picks the target when the address changes). The redrawn entry is marked the same way.
  function keepTheLinkedEntryMarked() {
    var id = window.location.hash.slice(1);
    var entry = id && document.getElementById(decodeURIComponent(id));
    if (entry && !entry.matches(":target")) { entry.classList.add("is-target"); }
  }

  function refreshIncident() {
    var state = document.getElementById("incident-state");
    var pageUrl = new URL(state.getAttribute("data-page-url"), window.location.href);
    return fetch(pageUrl.href, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok || new URL(response.url).pathname !== pageUrl.pathname) { return ""; }
        return response.text();
      })
      .then(function (html) {
        if (!html || !document.body.contains(state)) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var statusBefore = document.getElementById("current-status");
        statusBefore = statusBefore ? statusBefore.textContent.trim() : "";
        var keptOne = false;
        var landing = landedOn(document.activeElement) ? document.activeElement.id : "";
        INCIDENT_PARTS.forEach(function (id) {
          var current = document.getElementById(id);
          var replacement = fresh.getElementById(id);
          if (!current || !replacement) { return; }
          if (partIsBusy(current)) { keptOne = true; return; }
          var added = document.importNode(replacement, true);
          current.replaceWith(added);
          if (window.htmx) { window.htmx.process(added); }
        });
        var landingAgain = landing && document.activeElement === document.body && document.getElementById(landing);
        if (landingAgain) {
          landingAgain.setAttribute("tabindex", "-1");
          landingAgain.focus({ preventScroll: true });
        }
        document.title = fresh.title || document.title;
        keepTheLinkedEntryMarked();
        var statusNow = document.getElementById("current-status");
        var news = document.getElementById("announcer");
        if (news && statusNow && statusNow.textContent.trim() !== statusBefore) {
          news.textContent = "This incident is now " + statusNow.textContent.trim() + ".";
        }
        var freshState = fresh.getElementById("incident-state");
        if (!keptOne && freshState) { state.setAttribute("data-change-marker", freshState.getAttribute("data-change-marker")); }
      });
  }
  if (document.getElementById("incident-state")) {
    pollForChanges("incident-state", function (state) { return state.getAttribute("data-changes-url"); }, refreshIncident);
  }

  // A row's quick status change moves an incident between counters. The row (and its form)
  // has been swapped out by now, so htmx fires this on the nearest surviving ancestor;
  // requestConfig.elt still names the form that sent the request.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.classList && elt.classList.contains("quick-status")) { refreshSummary(); }
  });

  // The server says an incident was created: the new row is already in (out-of-band swap);
  // close the dialog and bring the counters up to date. Keyboard focus goes to the notice
  // ("INC-31 created: …", its key a link to it) once that is swapped in: closing the dialog
  // would leave focus where the dialog was opened from, <body> after the `c` shortcut.
  var createdNoticeDue = false;
  document.body.addEventListener("incidentCreated", function () {
    var dialog = document.getElementById("new-incident-dialog");
    if (dialog && dialog.open) { dialog.close(); }
    createdNoticeDue = true;
    refreshSummary();
  });
  document.addEventListener("htmx:afterSettle", function () {
    var notice = createdNoticeDue && document.querySelector("#created-notice .notice");
    if (!notice) { return; }
    createdNoticeDue = false;
    notice.setAttribute("tabindex", "-1");
    notice.focus();
  });

  // Times are drawn in UTC by the server (<time datetime="...">); show them in the reader's
  // time zone, keeping the UTC text as the hover title. A bare date (a due date) has no zone.
  // An age (data-relative: "3 d" in the dashboard's Age and "In status for" columns) keeps its
  // text; its title becomes "<label> <local time> (<UTC>)".
  var localTime = window.Intl ? new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  }) : null;
  // The incident timeline's times (data-seconds) to the second: events a few seconds apart
  // must read in order in a postmortem. Its hover title is UTC to the second too.
  var localTimeSeconds = window.Intl ? new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    timeZoneName: "short"
  }) : null;

  function localiseTimes() {
    if (!localTime) { return; }
    document.querySelectorAll("time[datetime]:not([data-local])").forEach(function (element) {
      var value = element.getAttribute("datetime");
      var when = new Date(value);
      if (value.length <= 10 || isNaN(when.getTime())) { return; }
      var label = element.getAttribute("data-relative");
      if (element.hasAttribute("data-seconds")) {
        element.title = when.toISOString().slice(0, 19).replace("T", " ") + " UTC";
        element.textContent = localTimeSeconds.format(when);
      } else if (label !== null) {
        var utc = element.title.slice(label.length).trim();
        element.title = label + " " + localTime.format(when) + " (" + utc + ")";
      } else {
        element.title = element.textContent.trim();
        element.textContent = localTime.format(when);
      }
      element.setAttribute("data-local", "");
    });
  }
  // "Overdue" is drawn by the server in the reader's days once it knows their zone (the it_tz
  // cookie below, web/reader.py), in UTC days before that: on the first page, west of UTC, a due
  // date set to the reader's today would read Overdue at once. The badge stays only once the
  // due day is over where the reader is.
  function overdueWhereTheReaderIs() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var today = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
    document.querySelectorAll(".badge.overdue[data-due]").forEach(function (badge) {
      if (badge.getAttribute("data-due") >= today) { badge.remove(); }
    });
  }
  function forTheReader() {
    localiseTimes();
    overdueWhereTheReaderIs();
  }
  forTheReader();
  // Times and Overdue badges arrive in new HTML by several roads: htmx swaps, the live
  // dashboard's merged rows, the evidence list evidence.js swaps in. Watching the document
  // catches every one of them (the live refresh once left every row it redrew in UTC).
  // Localising changes the <time> elements themselves (and a badge goes), which wakes the
  // observer once more and finds nothing left to do.
  // (An observer's callback already runs once per batch of changes, not once per node.)
  if (window.MutationObserver) {
    new MutationObserver(function () { forTheReader(); }).observe(document.body, { childList: true, subtree: true });
  } else {
    document.addEventListener("htmx:afterSettle", forTheReader);
  }

  // Keyboard shortcuts (listed by "?"): never while typing in a field or with a dialog open.
  function typingIn(element) {
    return element && element.closest && element.closest("input, textarea, select, [contenteditable]");
  }

  function moveThroughRows(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#incident-rows > tr"));
    if (!rows.length) { return; }
    var current = document.activeElement && document.activeElement.closest && document.activeElement.closest("#incident-rows > tr");
    var index = current ? rows.indexOf(current) + step : (step > 0 ? 0 : rows.length - 1);
    var row = rows[Math.max(0, Math.min(rows.length - 1, index))];
    var link = row.querySelector("a");
    (link || row).focus();
    // Focusing the key scrolls only the link into view: on a phone the rest of its card (the
    // status, the owner, the move control) could stay below the screen's edge.
    row.scrollIntoView({ block: "nearest" });
  }

  var SHORTCUTS = {
    "/": function () {
      var search = document.getElementById("search");
      if (search) { search.focus(); search.select(); } else { window.location.assign("/#search"); }
    },
    "c": function () {
      var opener = document.querySelector('[data-open-dialog="new-incident-dialog"]');
      if (opener) { opener.click(); } else if (document.getElementById("shortcuts-dialog")) { window.location.assign("/incidents/new#title"); }
    },
    "j": function () { moveThroughRows(1); },
    "k": function () { moveThroughRows(-1); },
    "?": function () {
      var dialog = document.getElementById("shortcuts-dialog");
      if (dialog && typeof dialog.showModal === "function") { dialog.showModal(); }
    }
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typingIn(event.target) || document.querySelector("dialog[open]")) { return; }
    var action = SHORTCUTS[event.key];
    if (!action || !document.getElementById("shortcuts-dialog")) { return; }  // signed-in pages only
    event.preventDefault();
    action();
  });
  // "/" and "c" from another page land in the search box and in the new incident's Title, as
  // they do on the dashboard (the Title was left unfocused: found in QA).
  var landing = { "#search": "search", "#title": "title" }[window.location.hash];
  if (landing && document.getElementById(landing)) { document.getElementById(landing).focus(); }
  // A question's Cancel on a page of its own ("Make … lead?", "Disable …?", "New password for …")
  // goes back to the list at the control it was asked from (/admin/users#role-3): focus goes
  // back there too, not to the top of the page (found in QA).
  (function backToTheControlAskedFrom() {
    var id = window.location.hash.slice(1);
    var control = id && document.getElementById(decodeURIComponent(id));
    if (control && control.hasAttribute("data-return-focus")) { control.focus(); }
  })();

  // Escape: out of an empty search box (the browser's own Escape empties a box with text in
  // it first), to the results, so j and k move through rows again instead of typing; and No to
  // an open question ("Close INC-n?", "Delete the follow-up …?", "Revoke token …?", "Make … lead?",
  // "Disable …?"), exactly as its Cancel (which puts focus back).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || document.querySelector("dialog[open]")) { return; }
    var target = event.target;
    if (target.id === "search") {
      if (target.value) { return; }
      event.preventDefault();
      var results = document.getElementById("results");
      if (results) {
        results.setAttribute("tabindex", "-1");
        results.focus({ preventScroll: true });
      } else {
        target.blur();
      }
      return;
    }
    // A question htmx has swapped in is not settled at once (20 ms, longer on a busy machine),
    // yet the browser's own autofocus can put focus on it before that. Meanwhile the incident
    // page's question carries the class of the Closed form it replaced (htmx settles `class`
    // between elements of the same id): found by its Cancel, not by its class.
    var question = target.closest && target.closest("form.confirm, section.confirm");
    var cancel = question && question.querySelector("[data-cancel-question]");
    var form = !cancel && target.closest && target.closest("form");
    if (form) { cancel = form.querySelector("[data-cancel-question]"); }
    if (!cancel && target === document.body) {
      var open = document.querySelectorAll("[data-cancel-question]");
      cancel = open.length === 1 ? open[0] : null;
    }
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
  // Until then htmx has not taken up its Cancel either: a plain link, there to this very page
  // (#move-closed-button), it would do nothing, and the question would stay. So a Cancel, by
  // Escape or clicked, is handed to htmx first (nothing new for one it has taken up already).
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-cancel-question]");
    if (cancel && window.htmx) { window.htmx.process(cancel); }
  }, true);

  // "File once" keys of the New incident and comment forms (data-form-key). Back draws these
  // no-store pages anew, with new keys, and the browser puts the typed text back: sent again, it
  // would file a second incident or post a second comment. So a submit keeps its keys in the
  // page's history entry (which Back returns to), and a page drawn for that entry takes them back.
  var keptFormKeys = (window.history.state && window.history.state.formKeys) || {};
  Array.prototype.forEach.call(document.querySelectorAll("input[data-form-key]"), function (input) {
    if (keptFormKeys[input.name]) { input.value = keptFormKeys[input.name]; }
  });
  document.addEventListener("submit", function (event) {
    var keys = event.target.querySelectorAll ? event.target.querySelectorAll("input[data-form-key]") : [];
    if (!keys.length) { return; }
    var state = Object.assign({}, window.history.state || {});
    state.formKeys = Object.assign({}, state.formKeys || {});
    Array.prototype.forEach.call(keys, function (input) { state.formKeys[input.name] = input.value; });
    try { window.history.replaceState(state, ""); } catch (error) { /* no session history: nothing kept */ }
  }, true);

  // Phones: "Filters" shows or hides the filter dropdowns (the search box stays).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".filters-toggle");
    if (!toggle) { return; }
    var form = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (form) { form.classList.toggle("expanded", open); }
  });
})();

// Pages that read or draw days in the reader's time zone get it from the browser: the audit
// log's From and To are read in it (the form's hidden tz field, and the labels name it), the
// insights page counts its days in it. A page drawn for a zone already (a filtered page, a shared
// link, the cookie's zone below) keeps that one, so the labels always say how the values shown
// were read. The zone is also kept in a cookie (it_tz, a year), so a plain /insights from the top
// bar is drawn in the reader's days at once, and the dashboard's searches and Overdue badges count
// their days too (web/reader.py). Without JavaScript and without the cookie: UTC, and the labels
// say so.
(function () {
  if (!window.Intl) { return; }
  var zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) { return; }
  // IANA names are letters, digits and "/_+-": all allowed in a cookie as they are.
  if (/^[A-Za-z0-9_+\/-]+$/.test(zone) && document.cookie.split("; ").indexOf("it_tz=" + zone) < 0) {
    document.cookie = "it_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  var field = document.querySelector("input[data-reader-zone]");
  if (!field || field.value) { return; }
  field.value = zone;
  var shown = /^(Etc\/)?(UTC|UCT|Universal|Zulu)$/i.test(zone) ? "UTC" : zone;
  Array.prototype.forEach.call(document.querySelectorAll("[data-audit-zone-name]"), function (name) {
    name.textContent = shown;
  });
})();
