/* Small progressive enhancements: every page works without this file.
   Click handling is delegated, so content swapped in by htmx works too. */
(function () {
  "use strict";

  function closeMenus() {
    ["nav-toggle", "dash-toggle"].forEach(function (id) {
      var box = document.getElementById(id);
      if (box) box.checked = false;
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text; area.readOnly = true;
      area.style.cssText = "position:fixed;top:0;left:0;opacity:0";
      document.body.appendChild(area);
      area.select();
      var ok; try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = /^(INPUT|TEXTAREA|SELECT)$/.test(source.tagName) ? source.value : source.textContent;
    copyText(text.trim()).then(function () {
      if (!button.hasAttribute("data-copy-label")) button.setAttribute("data-copy-label", button.textContent);
      button.textContent = "Copied";
      clearTimeout(button._copyTimer);
      button._copyTimer = setTimeout(function () {
        button.textContent = button.getAttribute("data-copy-label");
        button.removeAttribute("data-copy-label");
      }, 1500);
    }).catch(function () { /* the text stays selectable by hand */ });
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var dash = document.getElementById("dash-toggle");
    // A click on the dimmed page beside the open dashboard sidebar only closes it.
    if (dash && dash.checked && matchMedia("(max-width: 767.98px)").matches &&
        !target.closest(".dash-side, .dash-top, #dash-toggle")) {
      event.preventDefault(); closeMenus(); return;
    }
    // (1) Following a link in the mobile nav or the dashboard sidebar closes the menu.
    if (target.closest(".site-nav a, .dash-side nav a")) closeMenus();
    // (2) [data-copy="some-id"] copies the text of #some-id.
    var button = target.closest("[data-copy]");
    if (button) { event.preventDefault(); copyFrom(button); }
  });

  document.addEventListener("keydown", function (event) { if (event.key === "Escape") closeMenus(); });

  // (3) <form data-confirm="Sure?">: ask first. Capture phase, so a "Cancel" also stops
  // htmx's own submit handler on the form (plain and htmx forms behave the same).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // (4) htmx: a 422 carries the re-rendered form with its errors, so swap it like a 200.
  // A replacement request's row also answers 403 and 409 with itself and the reason (someone
  // else resolved it, the item was taken): it says so with HX-Retarget, so swap those too.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && (xhr.status === 422 || ((xhr.status === 409 || xhr.status === 403) && xhr.getResponseHeader("HX-Retarget")))) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // (5) Upload progress: a form's <progress data-upload-progress> follows htmx's upload.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target instanceof Element ? event.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload-progress]");
    if (!bar || !event.detail || !event.detail.total) return;
    var percent = Math.round(event.detail.loaded / event.detail.total * 100);
    bar.hidden = false;
    bar.value = percent;
    bar.textContent = percent + " %";
  });
})();

// Colour fields (the Appearance page): a native picker beside each #rrggbb text box, kept in step
// both ways; the text box is the one the form sends.
document.addEventListener("input", (event) => {
  const el = event.target;
  if (el.matches && el.matches("input[type=color][data-color-for]")) {
    const text = document.getElementById(el.dataset.colorFor);
    if (text) { text.value = el.value; text.dispatchEvent(new Event("input", { bubbles: true })); }
  } else if (el.matches && el.matches("input[id]")) {
    const picker = document.querySelector(`input[type=color][data-color-for="${el.id}"]`);
    if (picker && /^#[0-9a-fA-F]{6}$/.test(el.value)) picker.value = el.value.toLowerCase();
  }
});

// (6) Product gallery: the thumbnails are links to each picture (a new tab without JavaScript).
// Here they become buttons that show their picture in the main frame, the shown one pressed.
(function () {
  "use strict";

  function upgrade(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-gallery] a[data-gallery-src]").forEach((link) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = link.className;
      for (const name of ["gallerySrc", "galleryWidth", "galleryHeight"]) {
        if (link.dataset[name]) button.dataset[name] = link.dataset[name];
      }
      button.setAttribute("aria-pressed", link.getAttribute("aria-current") === "true" ? "true" : "false");
      while (link.firstChild) button.appendChild(link.firstChild);
      link.replaceWith(button);
    });
  }

  function show(button) {
    const gallery = button.closest("[data-gallery]");
    const main = gallery && gallery.querySelector("img[data-gallery-main]");
    if (!main) return;
    main.src = button.dataset.gallerySrc;
    if (button.dataset.galleryWidth) {
      main.width = Number(button.dataset.galleryWidth);
      main.height = Number(button.dataset.galleryHeight);
    } else {
      main.removeAttribute("width"); main.removeAttribute("height");
    }
    gallery.querySelectorAll("button[data-gallery-src]").forEach((other) => {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-gallery-src]") : null;
    if (button) show(button);
  });
  document.addEventListener("htmx:load", (event) => upgrade(event.target));
  upgrade(document);
})();

// A table that scrolls (.table-wrap: sideways on a phone, or down past 75vh with a sticky header)
// must be reachable by keyboard: when it scrolls and holds nothing focusable, it becomes a
// focusable, labelled region (WCAG 2.1.1).
function focusableScrollers(root) {
  (root || document).querySelectorAll(".table-wrap").forEach((wrap) => {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1 || wrap.scrollHeight > wrap.clientHeight + 1;
    const focusable = wrap.querySelector("a[href], button, input, select, textarea, [tabindex]");
    if (scrolls && !focusable && !wrap.hasAttribute("tabindex")) {
      wrap.setAttribute("tabindex", "0");
      if (!wrap.hasAttribute("role")) wrap.setAttribute("role", "region");
      if (!wrap.hasAttribute("aria-label")) {
        const heading = wrap.closest("section, .card")?.querySelector("h2, h3");
        wrap.setAttribute("aria-label", heading ? heading.textContent.trim() : "Table");
      }
    }
  });
}
document.addEventListener("DOMContentLoaded", () => focusableScrollers());
document.addEventListener("htmx:afterSettle", (event) => focusableScrollers(event.target));
window.addEventListener("resize", () => focusableScrollers());

// Checkout: the typed-address fields show only while "A new address" is chosen (a saved address
// needs none). Without this script they always show, and the server reads the radio.
function newAddressToggle() {
  const block = document.querySelector("[data-new-address][data-toggle-by]");
  if (!block) return;
  const chosen = document.querySelector('input[name="address_id"]:checked');
  block.hidden = !!chosen && chosen.value !== "new";
}
document.addEventListener("DOMContentLoaded", newAddressToggle);
document.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.name === "address_id") newAddressToggle();
});

// The shop's header from 1152 px: the nav sits inline when it fits on one row with the brand, the search box
// and the cart. When it doesn't (pages and external links in the nav bar, a wide logo, a long store name),
// the header gets .nav-collapsed and the links go into the burger menu, as below 1152 px. Without this
// script the row wraps instead (app.css). Measured with the class off, so a wider window brings them back.
(function () {
  const header = document.querySelector(".site-header");
  const row = header && header.querySelector(".header-row");
  const brand = row && row.querySelector(".brand");
  if (!brand || !row.querySelector(".site-nav")) return;
  const wide = window.matchMedia("(min-width: 1152px)");
  function fit() {
    header.classList.remove("nav-collapsed");
    if (!wide.matches) return;
    const firstRowEnd = brand.getBoundingClientRect().bottom - 1;
    const wrapped = Array.from(row.children).some((el) => {
      const box = el.getBoundingClientRect();
      return box.height > 0 && box.top >= firstRowEnd;
    });
    header.classList.toggle("nav-collapsed", wrapped);
  }
  let queued = false;
  function refit() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fit(); });
  }
  fit();
  window.addEventListener("resize", refit);
  window.addEventListener("load", refit);                 // the logo's real width
  if (document.fonts) document.fonts.ready.then(refit);
  document.addEventListener("htmx:afterSettle", refit);  // the mini-cart's count swapped in
})();
