// Crosscheck dashboard: click (or Enter on) a marked span of an article to see the explanations of every span
// under it, for the layers that are switched on. No inline script anywhere; the pages work without this file.
(function () {
  "use strict";

  function layerShown(layer) {
    var box = document.getElementById("show-" + layer);
    return !box || box.checked;
  }

  function explain(span) {
    var panel = document.getElementById("explain");
    if (!panel) { return; }
    var body = panel.querySelector(".explain-body");
    var ids = (span.getAttribute("data-notes") || "").split(" ");
    var shown = 0;
    while (body.firstChild) { body.removeChild(body.firstChild); }
    ids.forEach(function (id) {
      var note = id && document.getElementById("note-" + id);
      if (!note || !layerShown(note.getAttribute("data-layer"))) { return; }
      var copy = note.cloneNode(true);
      copy.removeAttribute("id");
      copy.classList.add("shown");
      body.appendChild(copy);
      shown += 1;
    });
    if (!shown) {
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = "Switch a layer on to see its explanation here.";
      body.appendChild(p);
    }
    panel.classList.add("active");
  }

  document.addEventListener("click", function (event) {
    var span = event.target.closest && event.target.closest(".doc [data-notes]");
    if (span) { explain(span); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") { return; }
    var span = event.target.closest && event.target.closest(".doc [data-notes]");
    if (span) { explain(span); }
  });
})();
