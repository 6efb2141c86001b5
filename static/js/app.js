/* Small progressive enhancements: every page works without this file. */
(function () {
  "use strict";

  var TOGGLES = ["nav-toggle", "dash-toggle"];

  function closeMenus() {
    TOGGLES.forEach(function (id) {
      var box = document.getElementById(id);
      if (box) box.checked = false;
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.cssText = "position:fixed;top:0;left:0;opacity:0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      ok ? resolve() : reject(new Error("copy failed"));
    });
  }

  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source && /^(INPUT|TEXTAREA|SELECT)$/.test(source.tagName) ? source.value : source.textContent;
    copyText(text.trim()).then(function () {
      if (!button.hasAttribute("data-copy-label")) button.setAttribute("data-copy-label", button.textContent);
      button.textContent = "Copied";
      clearTimeout(button._copyTimer);
      button._copyTimer = setTimeout(function () {
        button.textContent = button.getAttribute("data-copy-label");
        button.removeAttribute("data-copy-label");
      }, 1500);
    }).catch(function () { /* leave the text selectable by hand */ });
  }

  // Delegated, so content swapped in by htmx works too.
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    // (1) Following a link in the mobile nav or the dashboard sidebar closes the menu.
    if (target.closest(".site-nav a, .dash-side nav a")) closeMenus();
    // (2) [data-copy="some-id"] copies the text of #some-id.
    var button = target.closest("[data-copy]");
    if (button) { event.preventDefault(); copyFrom(button); }
  });

  // Escape closes an open menu.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus();
  });
})();
