"""A share link in real Chromium: the link the Share button offers, opened in a new
browser session, brings back the same view (program, inputs, toggles, graph, grads and
curves)."""

from __future__ import annotations

from tests.e2e.driver import (
    choose,
    chosen,
    editor_text,
    field_value,
    graph_nodes,
    is_on,
    open_app,
    plots,
    set_number,
    set_program,
    set_text,
    switch,
    table,
    wait_for_graph,
)

PROGRAM = "y = w * x + b\nz = torch.sin(y) * x"
RETAIN = "Keep .grad of intermediates (retain_grad)"
DETACH = "Detach these variables where they are assigned"


def view(page) -> dict[str, object]:
    """Everything a learner sees of the Playground, as plain data."""
    return {
        "program": editor_text(page),
        "inputs": {name: field_value(page, name) for name in ("w", "x", "b")},
        "requires_grad": [box.is_checked() for box in
                          page.get_by_label("requires_grad", exact=True).all()],
        "retain": is_on(page, RETAIN),
        "detach": chosen(page, DETACH),
        "wrt": field_value(page, "With respect to"),
        "range": (field_value(page, "from"), field_value(page, "to")),
        "graph": graph_nodes(page),
        "grads": table(page),
        "plots": plots(page, 2),
    }


def test_the_share_link_brings_back_the_same_view(server, browser, page):
    open_app(page, server)
    set_program(page, PROGRAM)
    set_text(page, "w", "0.5")
    set_text(page, "x", "3")
    set_text(page, "b", "0.25")
    switch(page, "requires_grad", index=2)  # boxes in reading order w, x, b: b a constant
    switch(page, RETAIN)
    choose(page, "With respect to", "w")
    set_number(page, "from", -1)
    set_number(page, "to", 2)
    wait_for_graph(page, "value 1.75", "value 2.952")  # y = 0.5·3 + 0.25, z = sin(y)·3
    page.get_by_role("button", name="Share").click()
    link = page.locator("[data-testid='stPopoverBody'] code").inner_text()
    assert link.startswith(server) and "code=" in link and "retain_grad=1" in link
    shown = view(page)
    assert shown["program"] == PROGRAM
    assert shown["inputs"] == {"w": "0.5", "x": "3", "b": "0.25"}
    assert shown["requires_grad"] == [True, True, False] and shown["retain"]
    assert shown["wrt"] == "w" and shown["range"] == ("-1.00", "2.00")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = context.new_page()  # a new browser session: nothing shared but the link
        open_app(other, link)
        wait_for_graph(other, "value 1.75", "value 2.952")
        assert view(other) == shown
    finally:
        context.close()
