// Renders /api/v1/openapi.json with the vendored Swagger UI (a file, so the strict CSP holds).
(function () {
  "use strict";

  // Swagger UI's markup, made to pass the same axe-core checks as the app's own pages.
  function AccessibleMarkup(system) {
    var React = system.React;
    var h = React.createElement;

    // Swagger UI's Authorize popup, as a named modal dialog: its close button says "Close",
    // its title is a heading in the page's outline (Swagger UI's h3 came right after the h1).
    // By keyboard it behaves as a modal dialog should: Tab and Shift+Tab stay inside it, focus
    // never drops to the page when Swagger UI redraws its fields (Enter in the token field
    // authorizes and swaps the field for "******"), and however it closes (Escape, Close,
    // the backdrop) focus goes back to the Authorize button that opened it.
    function AuthorizationDialog(props) {
      var close = function () {
        props.authActions.showDefinitions(false);
      };
      // Read while rendering, before the dialog's first field takes focus: the opening button.
      var opener = React.useState(function () {
        return document.activeElement;
      })[0];
      var modal = React.useRef(null);
      React.useEffect(function () {
        function focusable() {
          return Array.prototype.filter.call(
            modal.current.querySelectorAll(
              "button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), " +
                "textarea:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])"
            ),
            function (element) {
              return element.getClientRects().length > 0;
            }
          );
        }
        function focusFirst() {
          var inside = modal.current.querySelector(".modal-ux-content");
          var first = focusable().filter(function (element) {
            return inside.contains(element);
          })[0];
          (first || focusable()[0]).focus();
        }
        function onKeydown(event) {
          if (event.key === "Escape") {
            close();
            return;
          }
          if (event.key !== "Tab" || !modal.current) return;
          var elements = focusable();
          if (!elements.length) return;
          var first = elements[0];
          var last = elements[elements.length - 1];
          var active = document.activeElement;
          if (!modal.current.contains(active)) {
            event.preventDefault();
            (event.shiftKey ? last : first).focus();
          } else if (event.shiftKey && active === first) {
            event.preventDefault();
            last.focus();
          } else if (!event.shiftKey && active === last) {
            event.preventDefault();
            first.focus();
          }
        }
        // A redraw that removed the focused element (Authorize, Logout) leaves focus on <body>.
        var refocus = new MutationObserver(function () {
          if (!document.activeElement || document.activeElement === document.body) focusFirst();
        });
        refocus.observe(modal.current, { childList: true, subtree: true });
        document.addEventListener("keydown", onKeydown);
        return function () {
          refocus.disconnect();
          document.removeEventListener("keydown", onKeydown);
          var button =
            opener && opener !== document.body && document.contains(opener)
              ? opener
              : document.querySelector(".auth-wrapper .authorize");
          if (button) button.focus();
        };
      }, []);
      var Auths = props.getComponent("auths");
      var CloseIcon = props.getComponent("CloseIcon");
      var ast = (props.fn && props.fn.AST) || {};
      return h(
        "div",
        { className: "dialog-ux" },
        h("div", { className: "backdrop-ux", onClick: close }),
        h(
          "div",
          {
            className: "modal-ux",
            role: "dialog",
            "aria-modal": "true",
            "aria-labelledby": "api-docs-authorize-title",
            ref: modal,
          },
          h(
            "div",
            { className: "modal-dialog-ux" },
            h(
              "div",
              { className: "modal-ux-inner" },
              h(
                "div",
                { className: "modal-ux-header" },
                h("h2", { id: "api-docs-authorize-title" }, "Available authorizations"),
                h("button", { type: "button", className: "close-modal", onClick: close, "aria-label": "Close" }, h(CloseIcon))
              ),
              h(
                "div",
                { className: "modal-ux-content" },
                // Each scheme's name is an h4 of Swagger UI's: a heading of ours keeps the outline whole.
                h("h3", { className: "api-docs-visually-hidden" }, "Credentials"),
                props.authSelectors
                  .shownDefinitions()
                  .valueSeq()
                  .map(function (definitions, index) {
                    return h(Auths, {
                      key: index,
                      AST: ast,
                      definitions: definitions,
                      getComponent: props.getComponent,
                      errSelectors: props.errSelectors,
                      authSelectors: props.authSelectors,
                      authActions: props.authActions,
                      specSelectors: props.specSelectors,
                    });
                  })
              )
            )
          )
        )
      );
    }

    return {
      components: {
        authorizationPopup: AuthorizationDialog,
        // The path of an operation is a link inside the button that opens it (a control inside
        // a control: keyboard and screen-reader users meet two for one). Plain text instead:
        // deepLinking still writes the operation's address in the address bar when it opens.
        DeepLink: function (props) {
          return React.createElement("span", null, props.text);
        },
        // The request body's editor has no label of its own (axe: label).
        TextArea: function (props) {
          var named = /body-param__text/.test(props.className || "") ? { "aria-label": "Request body" } : {};
          return React.createElement("textarea", Object.assign(named, props));
        },
      },
      wrapComponents: {
        // "Authorize" named "Apply credentials" (axe: label-content-name-mismatch): a button's
        // visible words are its name, as speech-input users say them.
        Button: function (Original) {
          return function (props) {
            if (typeof props.children === "string" && props["aria-label"]) {
              props = Object.assign({}, props, { "aria-label": undefined });
            }
            return h(Original, props);
          };
        },
        // The title and description sit outside Swagger UI's own <main>: a named region holds them.
        InfoContainer: function (Original) {
          return function (props) {
            return React.createElement(
              "div",
              { role: "region", "aria-label": "About this API" },
              React.createElement(Original, props)
            );
          };
        },
        // The tags are h3s under the title's h1: a heading between them keeps the outline whole.
        operations: function (Original) {
          return function (props) {
            return React.createElement(
              React.Fragment,
              null,
              React.createElement("h2", { className: "api-docs-operations" }, "Operations"),
              React.createElement(Original, props)
            );
          };
        },
      },
    };
  }

  // What Swagger UI's components leave unnamed or unreachable, put right once they are drawn:
  // examples and responses scroll sideways in a <pre> only a mouse could scroll (axe:
  // scrollable-region-focusable; the app's own code blocks are focusable too), and a
  // parameter's list of choices has no label (axe: select-name): it is named by its row.
  function finishMarkup(root) {
    // Swagger UI names the token field "auth-bearer-value" (aria-label), which a screen reader
    // reads instead of the field's visible label, "Value:": the <label for> names it.
    root.querySelectorAll("input[id][aria-label]").forEach(function (input) {
      if (root.querySelector('label[for="' + CSS.escape(input.id) + '"]')) input.removeAttribute("aria-label");
    });
    root.querySelectorAll("pre:not([tabindex])").forEach(function (pre) {
      pre.setAttribute("tabindex", "0");
    });
    root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(function (select) {
      select.setAttribute("aria-label", select.closest("tr").getAttribute("data-param-name"));
    });
  }

  // After Execute (Try it out) Swagger UI drops focus on <body>: once the response is drawn,
  // focus goes to its "Server response" heading, so a keyboard user continues from there and a
  // screen reader reads where they are.
  var awaiting = null;
  function focusResponse() {
    if (!awaiting) return;
    var table = awaiting.block.querySelector(".live-responses-table");
    var heading = table && table.previousElementSibling;
    if (!heading || !document.contains(heading)) return;
    var active = document.activeElement;
    var lost = !active || active === document.body;
    if (!lost && (table === awaiting.previous || !awaiting.block.contains(active))) return;
    awaiting = null;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  var node = document.getElementById("swagger-ui");
  node.addEventListener(
    "click",
    function (event) {
      var execute = event.target.closest && event.target.closest("button.execute");
      var block = execute && execute.closest(".opblock");
      if (block) awaiting = { block: block, previous: block.querySelector(".live-responses-table") };
    },
    true
  );
  new MutationObserver(function () {
    finishMarkup(node);
    focusResponse();
  }).observe(node, { childList: true, subtree: true, attributes: true, attributeFilter: ["disabled"] });
  window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    // Swagger UI's dark themes draw some words below 4.5:1 (agate numbers 3.45, monokai null 3.92).
    syntaxHighlight: { theme: "idea" },
    plugins: [AccessibleMarkup],
  });
})();
