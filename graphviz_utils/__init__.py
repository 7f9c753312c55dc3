"""Autograd graph to DOT (issue 3). No Streamlit here: pages call it, never the reverse."""
