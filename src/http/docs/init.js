// Starts Swagger UI (the pinned copy served from /docs/) on this server's /openapi.json.
// A successful sign-in made with "Try it out" authorizes the page at once, so the next call carries
// its token; the token lives in this page's memory only and is gone on reload.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Swagger UI would otherwise show a badge loaded from validator.swagger.io.
  validatorUrl: null,
  persistAuthorization: false,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  responseInterceptor: function (response) {
    var path = new URL(response.url, location.href).pathname;
    if (response.ok && path === "/auth/login" && response.body && response.body.access_token) {
      window.ui.preauthorizeApiKey("bearer", response.body.access_token);
    }
    return response;
  },
});
