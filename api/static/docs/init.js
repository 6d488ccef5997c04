// Starts Swagger UI on the document named by the page. A file, not an inline script, so the
// page's Content-Security-Policy can refuse every inline script. Tokens are not persisted:
// an API token in browser storage would outlive the tab on a shared computer.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    persistAuthorization: false,
    validatorUrl: null
  });
});
