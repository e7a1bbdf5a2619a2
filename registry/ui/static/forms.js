// Forms: the error summary takes the focus (a screen reader reads it, the keyboard starts there); the
// taxonomy pickers get a search box and say what is ticked. Everything works without this script.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  for (const box of document.querySelectorAll("input.tree-filter")) {
    const tree = document.getElementById(box.dataset.tree);
    box.parentElement.hidden = false;
    box.addEventListener("input", () => {
      const term = box.value.trim().toLowerCase();
      for (const label of tree.querySelectorAll("label")) {
        label.hidden = term !== "" && !label.textContent.toLowerCase().includes(term);
      }
    });
  }
  for (const fieldset of document.querySelectorAll("fieldset[data-ticked]")) {
    const said = document.getElementById(fieldset.dataset.ticked);
    fieldset.addEventListener("change", () => {
      const names = [...fieldset.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.dataset.name);
      said.textContent = names.length ? "Ticked: " + names.join(", ") : "Nothing ticked yet.";
    });
  }
});

// Terminating: the deletion's due date follows the last day typed.
document.addEventListener("DOMContentLoaded", () => {
  const due = document.getElementById("due-on");
  const field = due && document.getElementById(due.dataset.after);
  if (!field) return;
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  field.addEventListener("input", () => {
    const day = new Date(field.value + "T00:00:00Z");
    if (Number.isNaN(day.getTime())) return;
    day.setUTCDate(day.getUTCDate() + Number(due.dataset.days));
    due.textContent = `${day.getUTCDate()} ${months[day.getUTCMonth()]} ${day.getUTCFullYear()}`;
    document.getElementById("due-for").textContent = "";
  });
});
