// Starts Swagger UI (the pinned copy served from /docs/) on this server's /openapi.json, and mends what its
// markup lacks for a screen reader (names for its selects and text areas; docs.css does the colours and sizes).
// Any answer made with "Try it out" that hands out a token (a sign-in, a password change) authorizes the page
// at once, so the next call carries it; a sign-out forgets it. The token lives in this page's memory only and
// is gone on reload.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  // Deep links put a link inside each operation's toggle button: a control inside a control, which screen
  // readers and keyboards cannot use as two (axe: nested-interactive). Without them the path is plain text.
  deepLinking: false,
  // Swagger UI would otherwise show a badge loaded from validator.swagger.io.
  validatorUrl: null,
  persistAuthorization: false,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  // The highlighting theme's colours are too faint on its dark background (WCAG 1.4.3); plain text reads better.
  syntaxHighlight: { activated: false },
  responseInterceptor: function (response) {
    var url = new URL(response.url, location.href);
    var sameOrigin = url.origin === location.origin;
    if (response.ok && sameOrigin && response.body && typeof response.body.access_token === "string") {
      window.ui.preauthorizeApiKey("bearer", response.body.access_token);
    }
    // POST /auth/logout (its only method) ended the token's session: the page must not go on showing itself authorized
    // with it. (With scope=others the token still works; the page forgets it anyway, and a sign-in brings one back.)
    if (response.ok && sameOrigin && url.pathname === "/auth/logout") {
      window.ui.authActions.logout(["bearer"]);
    }
    return response;
  },
});

/**
 * Swagger UI's selects and text areas have no label (the servers select sits in an empty one): give each a name
 * from what stands beside it (the parameter's name, "Request body"). Its answers scroll in a box of fixed
 * height: make the box reachable by keyboard, so it can be scrolled without a mouse. React leaves attributes it
 * did not set alone, and re-created elements are mended again as they appear.
 */
function nameControls(root) {
  var controls = root.querySelectorAll("select:not([aria-label]), textarea:not([aria-label]), input:not([type=hidden]):not([aria-label])");
  for (var i = 0; i < controls.length; i++) {
    var control = controls[i];
    var name = "";
    var parameter = control.closest("tr[data-param-name]");
    if (control.id === "servers") name = "Server";
    else if (parameter) name = parameter.getAttribute("data-param-name") + " (" + parameter.getAttribute("data-param-in") + " parameter)";
    else if (control.closest(".body-param")) name = "Request body (JSON)";
    else if (control.closest(".body-param-content-type, .content-type-wrapper, .response-control-media-type")) name = "Media type";
    else if (control.placeholder) name = control.placeholder;
    if (name) control.setAttribute("aria-label", name);
  }
  // The Authorize dialog: its close button is an icon without a name, and its Logout and Authorize buttons are
  // named for screen readers with other words than they show (WCAG 2.5.3): their text is their name.
  var close = root.querySelectorAll(".close-modal:not([aria-label])");
  for (var k = 0; k < close.length; k++) close[k].setAttribute("aria-label", "Close");
  var renamed = root.querySelectorAll("button.modal-btn[aria-label]");
  for (var m = 0; m < renamed.length; m++) renamed[m].removeAttribute("aria-label");
  var boxes = root.querySelectorAll(".highlight-code > pre:not([tabindex])");
  for (var j = 0; j < boxes.length; j++) {
    boxes[j].setAttribute("tabindex", "0");
  }
}

new MutationObserver(function () {
  nameControls(document);
}).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
