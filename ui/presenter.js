// The presenter's helpers in the browser (ui/presenter.py puts this on every page).
// Installed once per browser tab; everything is found in the page when it is needed, so
// Streamlit redrawing any element never leaves a stale reference behind.
(() => {
  if (window.autogradPresenter) return;
  window.autogradPresenter = true;
  const doc = window.parent === window ? document : window.parent.document;

  // --- Step through backward from the keyboard -------------------------------------
  // → or N: next step; ← or B: back. Page Down / Page Up (what
  // a presenter's clicker sends) too, in projector style only: elsewhere they scroll.
  // Never while a control has the focus: arrows move a slider, letters type.
  const STEP_KEYS = {ArrowRight: "next", n: "next", N: "next", ArrowLeft: "back", b: "back",
                     B: "back"};
  const CLICKER_KEYS = {PageDown: "next", PageUp: "back"};
  const typing = (el) => el && (el.isContentEditable ||
    /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || el.getAttribute("role") === "slider" ||
    el.closest("[role='listbox'], [role='combobox'], [role='menu'], [role='dialog']"));
  const projector = () =>
    getComputedStyle(doc.documentElement).getPropertyValue("--presenter-projector").trim()
      === "1";
  doc.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(doc.activeElement)) return;
    const which = STEP_KEYS[event.key] || (projector() && CLICKER_KEYS[event.key]);
    const button = which && doc.querySelector(`.st-key-pg_step_${which} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });

  // --- Keep the running node in view -------------------------------------------------
  // The step-through graph marks the node backward runs now (id "backward-running"). When
  // a new drawing of it appears, scroll the least that shows it: sideways in the graph's
  // own box, and down or up in the page.
  // Only where the graph sits beside its explanation: on a phone the graph is under the
  // step buttons, and following the node would scroll them away at every tap.
  let shown = null;
  const followRunningNode = () => {
    const running = doc.querySelector("[data-testid='stGraphVizChart'] svg g#backward-running");
    if (!running || running === shown || (doc.defaultView || window).innerWidth <= 640) {
      return;
    }
    shown = running;
    running.scrollIntoView({block: "nearest", inline: "center", behavior: "instant"});
  };

  // --- Formulas fit their column -----------------------------------------------------
  // A chain rule wider than its column is drawn smaller (down to 60%) rather than cut;
  // past that it scrolls sideways in its own box (app.py).
  const fitFormulas = () => {
    for (const box of doc.querySelectorAll(".katex-display")) {
      const formula = box.querySelector(".katex");
      if (!formula || !box.clientWidth) continue;
      formula.style.fontSize = "";
      const overflow = box.scrollWidth / box.clientWidth;
      if (overflow > 1.01) {
        formula.style.fontSize = `${Math.max(0.6, 0.98 / overflow) * 1.21}em`;
      }
    }
  };

  let pending = false;
  const update = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fitFormulas();
      followRunningNode();
    });
  };
  // Only added or removed elements: the sizes set above never wake the observer again.
  new MutationObserver(update).observe(doc.body, {childList: true, subtree: true});
  (doc.defaultView || window).addEventListener("resize", update);
  update();
})();
