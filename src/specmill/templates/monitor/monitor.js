// The monitor page's interaction: outcome filter, module search, two runs side by side.
// Text from records only ever reaches the page through textContent, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("monitor-data").textContent);
  var byId = {};
  data.runs.forEach(function (run) { byId[run.id] = run; });

  var outcome = document.getElementById("outcome");
  var search = document.getElementById("search");

  function words(value) { return value ? value.split(" ") : []; }

  function wanted(row, modules, want, needle) {
    if (want !== "all" && words(row.getAttribute("data-outcomes")).indexOf(want) < 0) {
      return false;
    }
    if (!needle) { return true; }
    return modules.some(function (m) { return m.toLowerCase().indexOf(needle) >= 0; });
  }

  function filter(selector, modulesOf, counter) {
    var want = outcome.value;
    var needle = search.value.trim().toLowerCase();
    var rows = document.querySelectorAll(selector);
    var shown = 0;
    rows.forEach(function (row) {
      var keep = wanted(row, modulesOf(row), want, needle);
      row.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    var out = document.getElementById(counter);
    if (out) { out.textContent = shown + " of " + rows.length + " shown"; }
  }

  function runModules(row) {
    var run = byId[row.getAttribute("data-run")];
    return run ? Object.keys(run.modules) : [];
  }

  function ownModule(row) { return [row.getAttribute("data-module") || ""]; }

  function apply() {
    filter("#runs-table tbody tr", runModules, "runs-shown");
    filter("#modules-table tbody tr", ownModule, "modules-shown");
    // questions have no outcome: the search alone applies
    var needle = search.value.trim().toLowerCase();
    document.querySelectorAll("#questions-table tbody tr").forEach(function (row) {
      row.hidden = needle !== "" && ownModule(row)[0].toLowerCase().indexOf(needle) < 0;
    });
  }

  outcome.addEventListener("change", apply);
  search.addEventListener("input", apply);

  // --- two runs side by side ----------------------------------------------------------
  var pickA = document.getElementById("compare-a");
  var pickB = document.getElementById("compare-b");
  var body = document.querySelector("#compare-table tbody");

  function cell(tag, text) {
    var element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function line(label, a, b) {
    var row = document.createElement("tr");
    row.appendChild(cell("th", label));
    row.appendChild(cell("td", a));
    row.appendChild(cell("td", b));
    if (a !== b) { row.className = "changed"; }
    body.appendChild(row);
  }

  function moduleText(run, module) {
    var m = run.modules[module];
    if (!m) { return "not in this run"; }
    return m.status + ", " + m.attempts + " attempt(s), " + m.tier + " tier, " + m.cost;
  }

  function verdictText(run, verifier) {
    var v = run.verdicts[verifier];
    if (!v) { return "-"; }
    return v.pass + " pass, " + v.fail + " fail, " + v.error + " error";
  }

  function union(a, b) {
    var seen = {};
    Object.keys(a).concat(Object.keys(b)).forEach(function (k) { seen[k] = true; });
    return Object.keys(seen).sort();
  }

  function compare() {
    var a = byId[pickA.value];
    var b = byId[pickB.value];
    body.textContent = "";
    if (!a || !b) { return; }
    line("started", a.started, b.started);
    line("command", a.command, b.command);
    line("cost", a.cost, b.cost);
    line("tokens", a.tokens, b.tokens);
    line("model calls", String(a.calls), String(b.calls));
    union(a.modules, b.modules).forEach(function (module) {
      line("module " + module, moduleText(a, module), moduleText(b, module));
    });
    union(a.verdicts, b.verdicts).forEach(function (verifier) {
      line("verdicts of " + verifier, verdictText(a, verifier), verdictText(b, verifier));
    });
  }

  pickA.addEventListener("change", compare);
  pickB.addEventListener("change", compare);
  compare();
  apply();
})();
