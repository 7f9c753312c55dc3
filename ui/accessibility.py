"""Keyboard access the app adds on top of Streamlit's own (WCAG 2.1 AA, issue 19).

:data:`ACCESSIBILITY_ASSETS` is fixed CSS and a fixed script (never user text) that app.py
sends in its one block of styles and scripts on every run, so every page gets

- (Streamlit 1.67 itself puts a "Skip to main content" link first in the tab order,
  shown while focused, for WCAG 2.4.1; the browser test checks it stays there)
- the Share and Export popovers in the tab order right after their buttons (2.4.3 focus
  order, 2.1.1 keyboard): Streamlit draws a popover's contents at the end of the page;
- a focus ring on every focusable control, blue with at least 3:1 contrast against the
  light and the dark background (2.4.7 focus visible, 1.4.11 non-text contrast):
  Streamlit draws none on some controls and a faint one on others;
- st.code's copy button shown at once when the code block takes the keyboard focus:
  Streamlit fades it in, and until then Tab skipped it (2.1.1 keyboard);
- code colours with 4.5:1 contrast on the code block (1.4.3): Streamlit's highlighter
  draws keywords, numbers, operators and comments at 2.6-3.8:1 on light, 4.1:1 on dark;
- captions (st.caption) at 6:1 instead of 3.9:1 on white: Streamlit draws them at 60%
  opacity, 75% keeps them muted but readable (1.4.3);
- a wide graph or formula that scrolls sideways can take the keyboard focus, so arrow keys
  scroll it (2.1.1): Streamlit's boxes that scroll are not focusable.

tests/e2e/test_accessibility.py checks them in a browser, with axe-core.
"""

from __future__ import annotations

# Focus ring colours: 6.4:1 on white, 8.6:1 on Streamlit 1.67's dark background (#171614),
# and over 5.7:1 on the sidebar's grey in either scheme.
FOCUS_LIGHT = "#0b57d0"
FOCUS_DARK = "#8ab4f8"

# Code token colours per scheme, all over 4.9:1 on st.code's background (#fcfcfb light,
# #22211e dark); the hues stay Streamlit's (blue keywords, teal numbers, orange operators).
CODE_COLOURS = {
    "light": {"keyword, .function, .builtin, .class-name": "#0b5cad",
              "comment, .punctuation": "#5c5f6e", "operator": "#b04a00",
              "number": "#00766a", "boolean, .string": "#1a7f37"},
    "dark": {"keyword, .function, .builtin, .class-name": "#5eaaf0",
             "comment, .punctuation": "#a4a8b7", "operator": "#f08a3e",
             "number": "#29b09d", "boolean, .string": "#21c354"},
}


def _code_colours(scheme: str) -> str:
    root = ":root[data-ae-scheme='dark']" if scheme == "dark" else ":root"
    return "\n".join(
        f"{root} [data-testid='stCode'] .token:is(.{tokens}) {{ color: {colour}; }}"
        for tokens, colour in CODE_COLOURS[scheme].items())


_CSS = f"""
:root {{ --ae-focus: {FOCUS_LIGHT}; }}
:root[data-ae-scheme='dark'] {{ --ae-focus: {FOCUS_DARK}; }}
:focus-visible {{ outline: 3px solid var(--ae-focus) !important; outline-offset: 2px; }}
[data-testid='stCode']:focus-within div:has([data-testid='stElementToolbarButton']),
[data-testid='stCode']:focus-within [data-testid='stElementToolbarButton'] * {{
  opacity: 1 !important; visibility: visible !important; transition: none !important; }}
[data-testid='stCaptionContainer'] {{ opacity: 0.75 !important; }}
{_code_colours("light")}
{_code_colours("dark")}
"""

# Streamlit draws a popover's contents at the end of the document, so Tab from its open
# button went on through the page and reached them only after everything else. Tab from
# an open popover's button now goes to its first control, Tab from its last control back
# to the control after the button, Shift+Tab from its first control to the button.
# The ring's colour follows the app's background (the browser or the settings menu).
_SCRIPT = """
(() => {
  const doc = document;
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), '
    + 'textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';
  const shown = e => e.checkVisibility({visibilityProperty: true});
  const inside = box => [...box.querySelectorAll(FOCUSABLE)].filter(shown);
  const onTab = event => {
    if (event.key !== 'Tab' || event.altKey || event.ctrlKey || event.metaKey) return;
    const body = doc.querySelector("[data-testid='stPopoverBody']");
    const opener = doc.querySelector("[data-testid='stPopoverButton'][aria-expanded='true']");
    if (!body || !opener) return;
    const controls = inside(body);
    if (!controls.length) return;
    let target = null;
    if (event.target === opener && !event.shiftKey) target = controls[0];
    else if (event.target === controls[0] && event.shiftKey) target = opener;
    else if (event.target === controls[controls.length - 1] && !event.shiftKey) {
      const page = inside(doc.body).filter(e => !body.contains(e));
      target = page[page.indexOf(opener) + 1] ?? null;
    }
    if (target) {
      event.preventDefault();
      target.focus();
    }
  };
  const scheme = () => {
    const app = doc.querySelector("[data-testid='stApp']");
    if (!app) return;
    const [r, g, b] = getComputedStyle(app).backgroundColor.match(/\\d+/g).map(Number);
    doc.documentElement.dataset.aeScheme = (r + g + b) / 3 < 128 ? 'dark' : 'light';
  };
  const scrollers = () => {
    for (const box of doc.querySelectorAll(
        "[data-testid='stGraphVizChart'], [data-testid='stMarkdown'] .katex-display")) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute('tabindex')) {
        box.setAttribute('tabindex', '0');
        box.dataset.aeScroll = '1';
      } else if (!scrolls && box.dataset.aeScroll) {
        box.removeAttribute('tabindex');
        delete box.dataset.aeScroll;
      }
    }
  };
  let pending = false;
  const later = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; scrollers(); });
    }
  };
  scheme();
  scrollers();
  if (!doc.documentElement.dataset.aeWatching) {
    doc.documentElement.dataset.aeWatching = '1';
    doc.addEventListener('keydown', onTab, true);
    new MutationObserver(later).observe(doc.body, {childList: true, subtree: true});
    window.addEventListener('resize', later);
    const watch = new MutationObserver(scheme);
    watch.observe(doc.head, {childList: true, subtree: true});
    const app = doc.querySelector("[data-testid='stApp']");
    if (app) watch.observe(app, {attributes: true, attributeFilter: ['class']});
  }
})();
"""


# Focus order, focus rings, copy buttons, code colours, scrollers (module docstring): HTML
# for the page's one block of fixed styles and scripts (app.py).
ACCESSIBILITY_ASSETS = f"<style>{_CSS}</style><script>{_SCRIPT}</script>"
