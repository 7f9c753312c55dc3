"""The classroom benchmark (bench/classroom.py): its load client's pieces of the browser's
protocol, offline, then the quick classroom against a real server.

Structure only, never a time: every session loaded and made all its edits, every edit
showed up in the graph the server drew, the memory numbers are there. A load client that
silently failed to apply its edits would time cache hits or nothing at all.
"""

from __future__ import annotations

import pytest
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.MultiSelect_pb2 import MultiSelect
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Selectbox_pb2 import Selectbox
from streamlit.proto.TextArea_pb2 import TextArea
from streamlit.proto.TextInput_pb2 import TextInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench import classroom
from bench.classroom import Client, Run, Student, browser_widget_state, check, graph_values

ID = "$$ID-0123456789abcdef-pg_in_x"


def test_widget_key_is_the_key_the_page_gave() -> None:
    assert classroom.widget_key(ID) == "pg_in_x"
    assert classroom.widget_key("$$ID-abc-pg_in_my-name") == "pg_in_my-name"


def test_the_server_value_wins_when_it_sets_one() -> None:
    element = Element(text_input=TextInput(id=ID, default="", value="2", set_value=True))
    held = WidgetState(id=ID, string_value="9")
    assert browser_widget_state(element, held) == WidgetState(id=ID, string_value="2")


def test_else_the_browser_keeps_its_value_else_the_default() -> None:
    element = Element(text_area=TextArea(id=ID, default="a = 1"))
    held = WidgetState(id=ID, string_value="b = 2")
    assert browser_widget_state(element, held) is held
    assert browser_widget_state(element, None) == WidgetState(id=ID, string_value="a = 1")


@pytest.mark.parametrize(("element", "expected"), [
    (Element(checkbox=Checkbox(id=ID, value=True, set_value=True)),
     WidgetState(id=ID, bool_value=True)),
    (Element(checkbox=Checkbox(id=ID, default=False)), WidgetState(id=ID, bool_value=False)),
    (Element(selectbox=Selectbox(id=ID, options=["x", "w"], raw_value="w", set_value=True)),
     WidgetState(id=ID, string_value="w")),
    (Element(selectbox=Selectbox(id=ID, options=["x", "w"], default=1)),
     WidgetState(id=ID, string_value="w")),
    (Element(selectbox=Selectbox(id=ID, options=["x"], set_value=True)), WidgetState(id=ID)),
    (Element(number_input=NumberInput(id=ID, data_type=NumberInput.FLOAT, value=2.5,
                                      set_value=True)),
     WidgetState(id=ID, double_value=2.5)),
    (Element(number_input=NumberInput(id=ID, data_type=NumberInput.INT, default=3)),
     WidgetState(id=ID, int_value=3)),
    (Element(number_input=NumberInput(id=ID, set_value=True)), WidgetState(id=ID)),
])
def test_each_widget_kind_sends_what_the_browser_sends(element: Element,
                                                       expected: WidgetState) -> None:
    assert browser_widget_state(element, None) == expected


def test_an_empty_multiselect_is_sent_as_an_empty_list() -> None:
    """As the browser sends it: the list is there, with nothing in it."""
    state = browser_widget_state(
        Element(multiselect=MultiSelect(id=ID, options=["y"], set_value=True)), None)
    assert state.HasField("string_array_value") and not state.string_array_value.data


def test_elements_that_are_not_widgets_have_no_state() -> None:
    assert browser_widget_state(Element(), None) is None


DOT = ('n0 [label=<...> tooltip="z | SinBackward0 | scalar | value 0.85458505 | grad 1"]\n'
       'n2 [label=<...> tooltip="x | AccumulateGrad | scalar | value 1.0123 | .grad 1.05"]\n'
       'n3 [label=<...> tooltip="v | AccumulateGrad | (3,) | value [1.0, 2.0, 3.0]"]\n')


def test_graph_values_reads_each_scalar_node_at_full_precision() -> None:
    assert graph_values(DOT) == {"z": 0.85458505, "x": 1.0123}


def test_an_edit_counts_only_when_the_graph_shows_it() -> None:
    student = Student(0, x="1.0123", c="")
    shown = Run(status=classroom.FINISHED, graphs=[DOT])
    assert check(shown, student.expected()) == []
    student.x = "2"
    assert check(shown, student.expected())  # the graph still shows the old x
    assert check(Run(status=classroom.FINISHED), student.expected())  # no graph at all


def test_every_edit_of_a_run_is_new() -> None:
    """Distinct values, so every edit is real work for the server, never a cache hit."""
    students = [Student(i) for i in range(3)]
    seen = set()
    for n, student in enumerate(students * 4, start=1):
        seen.add(student.next_edit(n))
        student.edits_s.append(0.0)
    assert len(seen) == 12


def test_a_rerun_carries_every_widget_the_query_and_the_cache() -> None:
    client = Client("http://127.0.0.1:1")
    client.widgets = {ID: WidgetState(id=ID, string_value="4"),
                      "$$ID-1-pg_retain": WidgetState(id="$$ID-1-pg_retain", bool_value=False)}
    client.cache = {"abc": (None, 0)}
    client.set("pg_in_x", "2.5")
    rerun = client.rerun_message().rerun_script
    assert rerun.query_string == classroom.LINK
    assert {w.id: w for w in rerun.widget_states.widgets} == {
        ID: WidgetState(id=ID, string_value="2.5"),
        "$$ID-1-pg_retain": WidgetState(id="$$ID-1-pg_retain", bool_value=False)}
    assert list(rerun.cached_message_hashes) == ["abc"]
    with pytest.raises(KeyError):
        client.set("pg_in_w", "1")


# --- the quick classroom, against a real server ----------------------------------------------

@pytest.fixture(scope="module")
def measured() -> classroom.Measurement:
    return classroom.measure(classroom.QUICK)


def test_every_session_loaded_and_made_every_edit(measured: classroom.Measurement) -> None:
    plan = measured.plan
    assert [r.size for r in measured.rounds] == list(plan.sizes)
    for r in measured.rounds:
        assert len(r.students) == r.size
        for student in r.students:
            assert student.problems == []
            assert student.first_load_s is not None
            assert len(student.edits_s) == plan.edits
            assert student.burst_s is not None


def test_memory_is_read_for_the_server_and_its_workers(
        measured: classroom.Measurement) -> None:
    moments = [moment for moment, _, _ in measured.memory]
    assert len(moments) == 4 and moments[0].startswith("after start")
    assert all(memory.server > 0 for _, _, memory in measured.memory)
    assert all(memory.workers > 0 for _, _, memory in measured.memory[1:])  # workers started
    for r in measured.rounds:
        assert r.connected.server > 0 and r.connected.workers > 0 and r.server_cpu_s > 0


def test_the_sections_have_a_row_per_class_and_honest_targets(
        measured: classroom.Measurement) -> None:
    room, memory = classroom.sections(measured)
    assert len(room.rows) == len(measured.plan.sizes)
    assert all(len(row) == len(room.columns) for row in room.rows)
    assert len(memory.rows) == 4
    assert not room.targets[0].met  # the quick class is not 100 sessions
