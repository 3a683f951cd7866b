// Quick entry for questionnaires: typing "0123..." ticks the radio buttons, and ticking a
// radio button rewrites the typed answers. The form works without this script.
(function () {
  "use strict";
  var box = document.querySelector(".measure-quick");
  if (!box) { return; }
  var ids = (box.getAttribute("data-items") || "").split(" ").filter(Boolean);
  function group(id) {
    return document.querySelectorAll('fieldset[data-link-id="' + id + '"] input[type=radio]');
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
  ids.forEach(function (id) {
    group(id).forEach(function (radio) { radio.addEventListener("change", fromRadios); });
  });
  if (box.value) { fromBox(); }
})();
