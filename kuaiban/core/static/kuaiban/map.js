/* Maps, drawn with Leaflet (served from the installed django-leaflet package). Everything a map
   needs is in its element's data attributes (the pages' CSP runs no inline script):

   <div data-map="pin" data-lat="lat" data-lng="lng">: a tap sets the form's lat/lng inputs;
     [data-map-locate] asks the browser for its position, [data-map-clear] takes the pin away.
   <div data-map="points" data-points-url="…"> (JSON {"points": […]}) or data-points="id" (a
     json_script element holding the list): one circle per point, with a popup.

   data-tiles (a URL template; empty: no tiles, a plain background), data-attribution,
   data-subdomains, data-center ("lat,lng") and data-zoom give the layer and the opening view.
   Without script the page keeps its address field and its list. */
(function () {
  "use strict";

  function line(box, tag, text) {
    if (!text) { return null; }
    var el = document.createElement(tag);
    el.textContent = text;  // never innerHTML: titles and names are user input
    box.appendChild(el);
    return el;
  }

  function popup(p) {
    var box = document.createElement("div");
    box.className = "map-popup";
    if (p.url) {
      var a = line(box, "a", (p.number ? p.number + " " : "") + (p.title || ""));
      a.href = p.url;
    } else {
      line(box, "strong", p.category);
    }
    line(box, "div", [p.status_label, p.received].filter(Boolean).join(" · "));
    if (p.url) { line(box, "div", p.category); }
    return box;
  }

  function drawPoints(map, el, list) {
    var layer = window.L.featureGroup().addTo(map);
    list.forEach(function (p) {
      window.L.circleMarker([p.lat, p.lng], {
        radius: 9, color: "#c62828", weight: 2, fillColor: "#ef5350", fillOpacity: 0.55,
        className: "map-point"
      }).bindPopup(popup(p), {maxWidth: 260, autoPanPadding: [12, 12]}).addTo(layer);
    });
    if (list.length) { map.fitBounds(layer.getBounds(), {maxZoom: 16, padding: [24, 24]}); }
    el.setAttribute("data-count", String(list.length));
  }

  function points(map, el) {
    var url = el.getAttribute("data-points-url");
    var inline = el.getAttribute("data-points");
    if (url) {
      fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {points: []}; })
        .then(function (body) { drawPoints(map, el, body.points || []); });
    } else if (inline) {
      var source = document.getElementById(inline);
      drawPoints(map, el, source ? JSON.parse(source.textContent) : []);
    }
  }

  function pin(map, el, wrap) {
    var form = el.closest("form");
    if (!form) { return; }
    var lat = form.elements.namedItem(el.getAttribute("data-lat"));
    var lng = form.elements.namedItem(el.getAttribute("data-lng"));
    var readout = wrap.querySelector("[data-map-readout]");
    var clearButton = wrap.querySelector("[data-map-clear]");
    var locateButton = wrap.querySelector("[data-map-locate]");
    var marker = null;

    function say(text) { if (readout) { readout.textContent = text; } }

    function place(a, b, zoomIn) {
      lat.value = a.toFixed(6);
      lng.value = b.toFixed(6);
      if (marker) { marker.setLatLng([a, b]); } else {
        marker = window.L.marker([a, b], {keyboard: false, title: ""}).addTo(map);
      }
      if (zoomIn) { map.setView([a, b], Math.max(map.getZoom(), 16)); }
      say((readout.getAttribute("data-set") || "") + " " + lat.value + ", " + lng.value);
      if (clearButton) { clearButton.hidden = false; }
    }

    function clear() {
      lat.value = "";
      lng.value = "";
      if (marker) { map.removeLayer(marker); marker = null; }
      say(readout.getAttribute("data-empty") || "");
      if (clearButton) { clearButton.hidden = true; }
    }

    map.on("click", function (ev) {
      var at = ev.latlng.wrap();
      place(at.lat, at.lng, false);
    });
    if (clearButton) { clearButton.addEventListener("click", clear); }
    if (locateButton) {
      if (!navigator.geolocation) { locateButton.hidden = true; } else {
        locateButton.addEventListener("click", function () {
          say(locateButton.getAttribute("data-wait") || "");
          navigator.geolocation.getCurrentPosition(function (pos) {
            place(pos.coords.latitude, pos.coords.longitude, true);
          }, function () {
            say(locateButton.getAttribute("data-failed") || "");
          }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
        });
      }
    }
    if (lat.value && lng.value && isFinite(lat.value) && isFinite(lng.value)) {
      place(Number(lat.value), Number(lng.value), true);
    } else {
      clear();
    }
  }

  function setup(el) {
    var L = window.L;
    var wrap = el.closest("[data-map-wrap]") || el;
    if (!L) { return; }  // Leaflet did not load: the page works as it would without script
    wrap.hidden = false;
    var center = (el.getAttribute("data-center") || "0,0").split(",").map(Number);
    var map = L.map(el, {scrollWheelZoom: false}).setView(center, Number(el.getAttribute("data-zoom")) || 11);
    // Credit the library by name only; the tile provider's own attribution follows it.
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        attribution: el.getAttribute("data-attribution") || "",
        subdomains: el.getAttribute("data-subdomains") || "abc",
        maxZoom: 18
      }).addTo(map);
    } else {
      el.classList.add("map-blank");
    }
    if (el.getAttribute("data-map") === "pin") { pin(map, el, wrap); } else { points(map, el); }
    el.setAttribute("data-ready", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-map]").forEach(setup);
  });
}());
