// Prikke's only script; every page works without it. Four things:
// 1. An element with data-refresh="URL" is replaced by URL's HTML every second while the tab is
//    visible (run status, history, monitors), so a finished run shows up without a reload.
// 2. The job form (data-preview="URL") refreshes its "Next runs" preview as the schedule changes.
// 3. A form's fields marked data-kinds="a b" show only while its "kind" select is a or b (without
//    the script every field shows, each with a hint saying which kind it is for).
// 4. A button.copy copies the text of the element just before it (ping URLs, curl examples);
//    the buttons show only when this script runs (html.js), and work inside refreshed fragments.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var busy = false;
    var last = null;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        // compared with the last answer, not innerHTML (the browser re-serializes it differently),
        // so an unchanged fragment is left alone: focus, a selection and a "Copied" label survive
        .then(function (html) { if (html !== null && html !== last) { el.innerHTML = html; last = html; } })
        .catch(function () {})
        .then(function () { busy = false; });
    }, 1000);
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
  function copy(ev) {
    var button = ev.target.closest && ev.target.closest("button.copy");
    if (!button) return;
    var source = button.previousElementSibling;
    if (!source) return;
    var label = button.firstChild;
    function said(words) {
      label.nodeValue = words;
      setTimeout(function () { label.nodeValue = "Copy"; }, 2000);
    }
    function byHand() {
      // the older way: select the text and ask the browser to copy the selection
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      said(ok ? "Copied" : "Selected: press Ctrl+C");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.innerText).then(function () { said("Copied"); }, byHand);
    } else {
      byHand();
    }
  }
  function start() {
    document.addEventListener("click", copy);
    document.querySelectorAll("form").forEach(kinds);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("form[data-preview]").forEach(preview);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
