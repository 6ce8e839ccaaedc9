// The panel's search box suggests what it finds as you type: stores,
// items, tags and (for admins) users in groups. Arrow keys move through
// them, Enter opens the one chosen (or, with none chosen, the results
// page), Escape closes the list. Without this script the box still opens
// the results page.
(function () {
  "use strict";
  var form = document.querySelector("form.panel-search[data-suggestions]");
  if (!form) return;
  var input = form.querySelector("input[role=combobox]");
  var list = form.querySelector("[role=listbox]");
  var asked = 0;
  var timer = null;
  var active = -1;

  function options() { return list.querySelectorAll("[role=option]"); }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(index) {
    var all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    all.forEach(function (option, n) { option.setAttribute("aria-selected", n === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  }

  function show(groups) {
    list.textContent = "";
    var n = 0;
    groups.forEach(function (group, g) {
      if (!group.found.length) return;
      var box = document.createElement("div");
      box.setAttribute("role", "group");
      box.setAttribute("aria-labelledby", "panel-search-group-" + g);
      var title = document.createElement("div");
      title.className = "group-title";
      title.id = "panel-search-group-" + g;
      title.textContent = group.title + " (" + (group.approximate ? "about " : "") + group.total + ")";
      box.appendChild(title);
      group.found.forEach(function (found) {
        var option = document.createElement("div");
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.id = "panel-search-option-" + (n++);
        option.dataset.href = found.href;
        var label = document.createElement("span");
        label.textContent = found.label;
        var detail = document.createElement("span");
        detail.className = "hint";
        detail.textContent = " " + found.detail;
        option.appendChild(label);
        option.appendChild(detail);
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          window.location.assign(found.href);
        });
        box.appendChild(option);
      });
      list.appendChild(box);
    });
    if (n === 0) {
      var none = document.createElement("div");
      none.className = "hint";
      none.textContent = "Nothing found.";
      list.appendChild(none);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function ask() {
    var words = input.value.trim();
    if (!words) { close(); return; }
    var mine = ++asked;
    fetch(form.getAttribute("data-suggestions") + "?q=" + encodeURIComponent(words), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (groups) { if (groups && mine === asked) show(groups); })
      .catch(function () {});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (list.hidden) return;
      event.preventDefault();
      choose(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0 && !list.hidden) {
      event.preventDefault();
      window.location.assign(options()[active].dataset.href);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
