// Quick entry for questionnaires: typing "0123..." ticks the radio buttons, and ticking a
// radio button rewrites the typed answers. Each ".measure-entry" works on its own, so the
// session note can hold several questionnaires. The box lists every question in order,
// unscored ones included (PHQ-9: 9 scored + the difficulty question = 10 digits); typing
// fewer leaves the rest blank. The form works without this script.
(function () {
  "use strict";
  function setUp(entry) {
    var box = entry.querySelector(".measure-quick");
    if (!box) { return; }
    var ids = (box.getAttribute("data-items") || "").split(" ").filter(Boolean);
    function group(id) {
      return entry.querySelectorAll('fieldset[data-link-id="' + id + '"] input[type=radio]');
    }
    function fromBox() {
      var typed = box.value.replace(/\s/g, "");
      ids.forEach(function (id, i) {
        var ch = typed.charAt(i);
        group(id).forEach(function (radio) { radio.checked = ch !== "" && radio.value === ch; });
      });
    }
    function fromRadios() {
      box.value = ids.map(function (id) {
        var checked = Array.prototype.find.call(group(id), function (r) { return r.checked; });
        return checked ? checked.value : " ";
      }).join("").replace(/\s+$/, "");
    }
    box.addEventListener("input", fromBox);
    if (box.getAttribute("data-enter") === "next") {
      // In the session note Enter moves on (to the date completed) rather than sending
      // the whole note half-written.
      box.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") { return; }
        event.preventDefault();
        var next = entry.querySelector('input[type="date"]');
        if (next) { next.focus(); }
      });
    }
    ids.forEach(function (id) {
      group(id).forEach(function (radio) { radio.addEventListener("change", fromRadios); });
    });
    if (box.value) { fromBox(); }
  }
  Array.prototype.forEach.call(document.querySelectorAll(".measure-entry"), setUp);
})();
