"""Streamlit pieces the pages share: showing a run, its graph and plots, share links.

Pages stay UI-only and short by calling these; the engine and graphviz_utils below know
nothing about Streamlit. ``ui.share`` and ``ui.plots`` are plain functions (no Streamlit)
so they are tested without a server.
"""
