"""Playground: type a small PyTorch program and its inputs; see the output and every .grad.

UI only: the engine checks and runs the program (in a worker process) and returns plain
data; graphviz_utils draws the autograd graph from it. (Toggles, plots and lessons arrive
with the app issue.)
"""

import pandas as pd
import streamlit as st

from engine import run_program
from engine.summary import format_summary, summarize
from graphviz_utils import to_dot

EXAMPLE = "y = x**2\nz = torch.sin(y)\n"

st.title("Playground")
left, right = st.columns([3, 2])
with left:
    source = st.text_area("Program", EXAMPLE, height=220, key="source")
    table = st.data_editor(
        pd.DataFrame([{"name": "x", "value": "4", "requires_grad": True}]),
        num_rows="dynamic", key="inputs", width="stretch",
        column_config={"value": st.column_config.TextColumn("value")},
    )
inputs, requires_grad = {}, {}
for row in table.to_dict("records"):
    name = str(row.get("name") or "").strip()
    if name:
        inputs[name] = str(row.get("value") or "")
        requires_grad[name] = bool(row.get("requires_grad"))

result = run_program(source, inputs, requires_grad=requires_grad)
with right:
    if result.error is not None:
        where = f"line {result.error.line}, column {result.error.col}: " \
            if result.error.line else ""
        st.error(f"{where}{result.error.message}", icon=":material/error:")
    if result.output is not None:
        st.metric(f"output {result.output_name or ''}".strip(),
                  format_summary(summarize(result.output)))
    if result.grads:
        st.dataframe(
            pd.DataFrame([{"leaf": name, ".grad": format_summary(summarize(grad))}
                          for name, grad in result.grads.items()]),
            hide_index=True, width="stretch",
        )
    for warning in result.warnings:
        st.warning(warning, icon=":material/info:")
    if result.printed:
        st.code(result.printed, language=None)

if result.graph and result.graph["nodes"]:
    st.subheader("Autograd graph")
    theme = "dark" if st.context.theme.type == "dark" else "light"
    st.graphviz_chart(to_dot(result, theme=theme).source, width="content")
