// The grid worker's report: the phone's location (optional) into the hidden lat/lng fields.
(function () {
  "use strict";
  var button = document.getElementById("grid-locate");
  var say = document.getElementById("grid-locate-say");
  var lat = document.getElementById("id_lat");
  var lng = document.getElementById("id_lng");
  if (!button || !lat || !lng) { return; }
  if (!navigator.geolocation) { button.hidden = true; return; }
  button.addEventListener("click", function () {
    say.textContent = button.getAttribute("data-wait") || "";
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lng.value = pos.coords.longitude.toFixed(6);
      say.textContent = (button.getAttribute("data-done") || "") + " " + lat.value + ", " + lng.value;
    }, function () {
      say.textContent = button.getAttribute("data-failed") || "";
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
})();
