"""Keyboard access the app adds on top of Streamlit's own (WCAG 2.1 AA, issue 19).

One call per run, from app.py, before the page: :func:`accessibility_styles` sends one
``st.html`` with fixed CSS and a fixed script (never user text), so every page gets

- a "Skip to main content" link, the first Tab stop of the document, hidden until it has
  focus (WCAG 2.4.1 bypass blocks: the sidebar's page menu comes first otherwise);
- a focus ring on every focusable control, blue with at least 3:1 contrast against the
  light and the dark background (2.4.7 focus visible, 1.4.11 non-text contrast):
  Streamlit draws none on some controls and a faint one on others;
- st.code's copy button shown while the code block holds the keyboard focus, not only
  under the mouse (2.1.1 keyboard).

tests/e2e/test_accessibility.py checks all three in a browser, with axe-core.
"""

from __future__ import annotations

import streamlit as st

SKIP_LINK_ID = "ae-skip-to-main"
SKIP_LINK_TEXT = "Skip to main content"
# Focus ring colours: the light one on white and the dark one on Streamlit's #0e1117 are
# both over 6:1, and each stays above 3:1 on the other's controls' fills.
FOCUS_LIGHT = "#0b57d0"
FOCUS_DARK = "#8ab4f8"

_CSS = f"""
:root {{ --ae-focus: {FOCUS_LIGHT}; }}
:root[data-ae-scheme='dark'] {{ --ae-focus: {FOCUS_DARK}; }}
:focus-visible {{ outline: 3px solid var(--ae-focus) !important; outline-offset: 2px; }}
#{SKIP_LINK_ID} {{
  position: fixed; top: 0.5rem; left: 0.5rem; z-index: 1000100; padding: 0.5rem 1rem;
  background: #ffffff; color: #0b2545; font-weight: 600; border-radius: 0.25rem;
  text-decoration: underline; transform: translateY(-200%);
}}
#{SKIP_LINK_ID}:focus {{ transform: none; }}
[data-testid='stCode']:focus-within [data-testid='stCodeCopyButton'],
[data-testid='stCodeCopyButton']:focus-visible {{ opacity: 1 !important;
  visibility: visible !important; }}
[data-testid='stMain']:focus {{ outline: none !important; }}
"""

# The skip link goes before Streamlit's root element, once per page load (the script runs
# again on every rerun). Following it moves the focus to the main area (tabindex -1 makes
# it focusable by script only), so the next Tab is the page's first control. The ring's
# colour follows the app's background, which follows the browser or the settings menu.
_SCRIPT = f"""
(() => {{
  const doc = window.parent?.document ?? document;
  if (!doc.getElementById('{SKIP_LINK_ID}')) {{
    const link = doc.createElement('a');
    link.id = '{SKIP_LINK_ID}';
    link.href = '#';
    link.textContent = '{SKIP_LINK_TEXT}';
    link.addEventListener('click', event => {{
      event.preventDefault();
      const main = doc.querySelector("[data-testid='stMain']");
      if (main) {{
        main.setAttribute('tabindex', '-1');
        main.focus();
        main.scrollIntoView({{block: 'start'}});
      }}
    }});
    doc.body.insertBefore(link, doc.body.firstChild);
  }}
  const scheme = () => {{
    const app = doc.querySelector("[data-testid='stApp']");
    if (!app) return;
    const [r, g, b] = getComputedStyle(app).backgroundColor.match(/\\d+/g).map(Number);
    doc.documentElement.dataset.aeScheme = (r + g + b) / 3 < 128 ? 'dark' : 'light';
  }};
  scheme();
  if (!doc.documentElement.dataset.aeWatching) {{
    doc.documentElement.dataset.aeWatching = '1';
    const watch = new MutationObserver(scheme);
    watch.observe(doc.head, {{childList: true, subtree: true}});
    const app = doc.querySelector("[data-testid='stApp']");
    if (app) watch.observe(app, {{attributes: true, attributeFilter: ['class']}});
  }}
}})();
"""


def accessibility_styles() -> None:
    """The skip link, focus rings and keyboard-visible copy buttons (module docstring)."""
    st.html(f"<style>{_CSS}</style><script>{_SCRIPT}</script>",
            unsafe_allow_javascript=True)
