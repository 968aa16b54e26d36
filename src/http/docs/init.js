// Starts Swagger UI (the pinned copy served from /docs/) on this server's /openapi.json.
// Any answer made with "Try it out" that hands out a token (a sign-in) authorizes the page at once, so the
// next call carries it; the token lives in this page's memory only and is gone on reload.
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
    var sameOrigin = new URL(response.url, location.href).origin === location.origin;
    if (response.ok && sameOrigin && response.body && typeof response.body.access_token === "string") {
      window.ui.preauthorizeApiKey("bearer", response.body.access_token);
    }
    return response;
  },
});
