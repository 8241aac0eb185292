// The console's one script, and every form works without it. It adds: a "select all" box to
// the review queue, and a question before a form marked data-confirm is sent.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.queue")) {
    const boxes = () => [...table.querySelectorAll("tbody input[type=checkbox]")];
    const cell = table.querySelector("thead th");
    if (!cell || boxes().length === 0) continue;
    const all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select all");
    all.addEventListener("change", () => { for (const box of boxes()) box.checked = all.checked; });
    cell.replaceChildren(all);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
