// Keyboard support for the header's live search results: ArrowDown moves
// from the box into the list and down it, ArrowUp moves back up to the box,
// Escape closes the list and returns to the box. A click elsewhere closes it.
// Elements are looked up at each event because an htmx history restore
// replaces the whole body.
(() => {
  "use strict";
  const parts = () => [document.getElementById("site-q"), document.getElementById("live-results")];

  document.addEventListener("keydown", (e) => {
    const [box, list] = parts();
    if (!box || !list) return;
    const links = Array.from(list.querySelectorAll("a"));
    const i = links.indexOf(document.activeElement);
    if (e.target !== box && i < 0) return;
    if (e.key === "ArrowDown" && links.length > 0) {
      links[Math.min(i + 1, links.length - 1)].focus();
      e.preventDefault();
    } else if (e.key === "ArrowUp" && i >= 0) {
      (i === 0 ? box : links[i - 1]).focus();
      e.preventDefault();
    } else if (e.key === "Escape") {
      list.replaceChildren();
      box.focus();
    }
  });

  document.addEventListener("click", (e) => {
    const [, list] = parts();
    if (list && !e.target.closest(".site-search")) list.replaceChildren();
  });
})();
