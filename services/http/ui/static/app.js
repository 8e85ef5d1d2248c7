// The web app's only script: in the accept form, show just the inputs the chosen kind of
// roadmap change needs. Without it every input stays visible and the server ignores the rest.
"use strict";

function showFieldsOf(row) {
  const kind = row.querySelector("[data-change-kind]").value;
  for (const field of row.querySelectorAll("[data-for]")) {
    field.hidden = !field.dataset.for.split(" ").includes(kind);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const row of document.querySelectorAll("[data-change-row]")) {
    row.querySelector("[data-change-kind]").addEventListener("change", () => showFieldsOf(row));
    showFieldsOf(row);
  }
});
