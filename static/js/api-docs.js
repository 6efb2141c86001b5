/* Swagger UI at /api/docs (templates/api/docs.html): what APIFlask's page did in an inline
   script, here in a file, since the Content-Security-Policy allows scripts from this origin only. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
    layout: root.getAttribute("data-layout") || "BaseLayout",
    // the operations open tag by tag: rendering all ~120 of them at once made Chromium's first
    // render take minutes (it never finished in the docs test)
    docExpansion: "none"
  });
})();
