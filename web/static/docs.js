// Renders /openapi.json with Swagger UI (swagger-ui-dist, pinned, served by medgate).
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,  // no call to an outside validator
    tryItOutEnabled: false
  });
})();
