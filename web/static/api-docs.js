// Renders /api/v1/openapi.json with the vendored Swagger UI (a file, so the strict CSP holds).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: node.getAttribute("data-spec-url"), domNode: node, deepLinking: true });
})();
