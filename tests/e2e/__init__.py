"""The app in real headless Chromium (Playwright) against a real `streamlit run` server.

AppTest runs the script but lays nothing out: only a browser shows that the graph is
drawn, the plots have their traces and a share link brings the same view back.
"""
