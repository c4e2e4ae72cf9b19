// Prikke's only script; every page works without it. Two things:
// 1. An element with data-refresh="URL" is replaced by URL's HTML every 1.5 s while the tab is
//    visible (run status, history, monitors), so a finished run shows up without a reload.
// 2. The job form (data-preview="URL") refreshes its "Next runs" preview as the schedule changes.
// 3. A form's fields marked data-kinds="a b" show only while its "kind" select is a or b (without
//    the script every field shows, each with a hint saying which kind it is for).
(function () {
  "use strict";
  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html !== el.innerHTML) el.innerHTML = html; })
        .catch(function () {})
        .then(function () { busy = false; });
    }, 1500);
  }
  function preview(form) {
    var url = form.getAttribute("data-preview");
    var target = form.querySelector("#preview");
    var timer = null;
    function update() {
      var data = new URLSearchParams();
      new FormData(form).forEach(function (v, k) {
        if (k !== "csrf" && k !== "body" && k !== "headers") data.append(k, v);
      });
      fetch(url + "?" + data.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) target.innerHTML = html; })
        .catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(update, 250); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }
  function kinds(form) {
    var select = form.querySelector("select[name=kind]");
    if (!select) return;
    function show() {
      form.querySelectorAll("[data-kinds]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", show);
    show();
  }
  function start() {
    document.querySelectorAll("form").forEach(kinds);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("form[data-preview]").forEach(preview);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
