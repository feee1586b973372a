// The front door's form: ask for the SMS code without reloading the page, so the photos a person
// has already chosen stay chosen. Without JavaScript the button posts the form instead (and the
// server shows everything typed again; files cannot be kept that way, the page says so).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var form = document.querySelector("form.submit");
    if (!form) return;
    var button = form.querySelector('button[name="action"][value="code"]');
    var phone = form.querySelector('input[name="phone"]');
    if (!button || !phone || !window.fetch) return;
    var status = document.createElement("div");
    status.setAttribute("role", "status");
    status.setAttribute("data-testid", "code-status");
    button.parentNode.appendChild(status);
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var token = form.querySelector('input[name="csrfmiddlewaretoken"]');
      button.disabled = true;
      status.className = "muted";
      status.textContent = "…";
      fetch(button.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": token ? token.value : "",
        },
        body: JSON.stringify({ phone: phone.value }),
      })
        .then(function (response) {
          return response.json().then(function (body) {
            status.className = response.ok ? "flash ok" : "flash error";
            var message = body.detail || "";
            if (!response.ok && body.errors && body.errors.length) message = body.errors[0].message;
            status.textContent = message;
          });
        })
        .catch(function () {
          status.className = "flash error";
          status.textContent = button.getAttribute("data-offline") || "";
        })
        .then(function () {
          button.disabled = false;
        });
    });
  });

  // "这些是您要反映的问题吗?": as the person describes the problem, look for open appeals like it
  // (and near the pin, when there is one) and offer to join one instead of sending it again.
  ready(function () {
    var panel = document.querySelector("section.similar");
    var content = document.querySelector('textarea[name="content"]');
    if (!panel || !content || !window.fetch) return;
    var list = panel.querySelector("ul");
    var timer = null;
    var asked = "";
    function point(name) {
      var input = document.querySelector('input[name="' + name + '"]');
      return input ? input.value : "";
    }
    function show(rows) {
      list.textContent = "";
      rows.forEach(function (row) {
        var li = document.createElement("li");
        var title = document.createElement("strong");
        title.textContent = row.title || row.category || row.number;
        var facts = document.createElement("div");
        facts.className = "muted";
        var bits = [row.status_label, row.category, row.received_at.slice(0, 10)];
        bits.push((row.supporters + 1) + " " + panel.getAttribute("data-people-label"));
        if (row.metres !== null) bits.push(row.metres < 100 ? "< 100 m" : "~" + row.metres + " m");
        facts.textContent = bits.filter(Boolean).join(" · ");
        var join = document.createElement("a");
        join.className = "button";
        join.href = panel.getAttribute("data-join").replace("/0/", "/" + encodeURIComponent(row.number) + "/");
        join.textContent = panel.getAttribute("data-join-label");
        li.appendChild(title);
        li.appendChild(facts);
        li.appendChild(join);
        list.appendChild(li);
      });
      panel.hidden = rows.length === 0;
    }
    function look() {
      var text = content.value.trim();
      var key = text + "|" + point("lat") + "|" + point("lng");
      if (text.length < 8 || key === asked) return;
      asked = key;
      var query = new URLSearchParams({ text: text.slice(0, 2000) });
      if (point("lat") && point("lng")) {
        query.set("lat", point("lat"));
        query.set("lng", point("lng"));
      }
      fetch(panel.getAttribute("data-url") + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(show)
        .catch(function () {});
    }
    content.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(look, 600);
    });
    look();
  });

  // The category, suggested as the person types (the routing model); their own choice wins.
  ready(function () {
    var hint = document.querySelector("p.suggested");
    var content = document.querySelector('textarea[name="content"]');
    var select = document.querySelector('select[name="category"]');
    if (!hint || !content || !select || !window.fetch) return;
    var chosenByHand = select.value !== "";
    var timer = null;
    select.addEventListener("change", function () {
      chosenByHand = true;
    });
    function suggest() {
      var text = content.value.trim();
      if (text.length < 6) return;
      var url = hint.getAttribute("data-url") + "?" + new URLSearchParams({ text: text.slice(0, 2000) });
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (rows) {
          hint.hidden = rows.length === 0;
          if (!rows.length) return;
          hint.querySelector("span").textContent = rows.map(function (r) { return r.name; }).join("、");
          if (!chosenByHand) select.value = rows[0].code;
        })
        .catch(function () {});
    }
    content.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(suggest, 500);
    });
  });
})();
