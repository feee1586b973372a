/* The site's few behaviours, as delegated listeners on data attributes: the pages' Content-
   Security-Policy runs no inline script or on* attribute. Works for htmx-swapped content too. */
(function () {
  "use strict";

  // <select data-autosubmit>: submit its form on change (language, year, industry filters).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el instanceof HTMLElement && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });

  // <form data-confirm="…">: ask before a destructive one-click action (cancel, end, revoke).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm") &&
        !window.confirm(form.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  }, true);

  document.addEventListener("click", function (ev) {
    var target = ev.target instanceof Element ? ev.target : null;
    if (!target) { return; }

    // <button data-fill="field-id" data-code="…" [data-focus]>: put the suggestion in a field.
    var fill = target.closest("[data-fill]");
    if (fill) {
      var field = document.getElementById(fill.getAttribute("data-fill"));
      if (field) {
        field.value = fill.getAttribute("data-code");
        field.dispatchEvent(new Event("change", {bubbles: true}));
        if (fill.hasAttribute("data-focus")) { field.focus(); }
      }
      return;
    }

    // <button data-register-and="dispatch|merge" data-register-url="…" data-into="…">:
    // register the intake form and then dispatch it or merge it into another appeal.
    var reg = target.closest("[data-register-and]");
    if (reg && reg.form) {
      var form = reg.form;
      form.action = reg.getAttribute("data-register-url");
      form.elements.go.value = reg.getAttribute("data-register-and");
      form.elements.routing_merge.value = reg.getAttribute("data-into") || "";
      form.submit();
      return;
    }

    // <a data-export-form>: carry the filters of the enclosing form in the link's query.
    var link = target.closest("a[data-export-form]");
    if (link) {
      var filters = link.closest("form");
      if (filters) { link.search = new URLSearchParams(new FormData(filters)).toString(); }
      return;
    }

    if (target.closest("[data-print]")) { window.print(); }
  });

  // <div data-figure> followed by its json_script: a Plotly chart; a point with a URL in its
  // customdata opens that URL.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = el.nextElementSibling;
      if (!source || !window.Plotly) { return; }
      var fig = JSON.parse(source.textContent);
      if (typeof fig === "string") { fig = JSON.parse(fig); }
      window.Plotly.newPlot(el, fig.data, fig.layout, {displayModeBar: false, responsive: true}).then(function () {
        el.on("plotly_click", function (e) {
          var url = e.points && e.points[0] && e.points[0].customdata;
          if (typeof url === "string" && url.charAt(0) === "/") { window.location.href = url; }
        });
      });
    });
  });
}());
