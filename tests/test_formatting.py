"""engine.language.formatting against Python itself.

The reference everywhere is the real thing: ``format``, ``%``, ``str.format``, ``str``,
``repr`` and compiled f-strings, run here on test-chosen values and templates (never on
anything the module produced). Property tests generate specs, templates and values;
attack tests check that bombs are refused fast and that fields cannot walk attributes.
"""

from __future__ import annotations

import ast
import inspect
import re
import time
import warnings
from collections.abc import Callable

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.language import formatting
from engine.language.formatting import (
    MAX_DEPTH,
    MAX_ITEMS,
    FormatLimit,
    FormatRefused,
    FormattedPart,
    conversion_of,
    display_repr,
    display_str,
    format_field,
    format_fstring_parts,
    percent_format,
    str_format,
)

PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    """What a call gives: ("ok", text) or (exception class name, message)."""
    try:
        return ("ok", call())
    except Exception as error:  # noqa: BLE001 - comparing whatever Python raises
        return (type(error).__name__, str(error))


def digit_runs_within(text: str, limit: int = 1000) -> bool:
    """True if no run of decimal digits in ``text`` is bigger than ``limit``."""
    return all(int(run) <= limit for run in re.findall(r"\d+", text))


def matches_python(ours: tuple[str, object], python: Callable[[], object],
                   *texts: str) -> bool:
    """``ours`` equals what Python gives, or is a FormatLimit that some number over the
    bound in ``texts`` (the template, the arguments' text) justifies. The texts have at
    most 4-digit numbers (the generators ensure it), so Python is safe to ask."""
    if ours[0] == "FormatLimit":
        return not all(digit_runs_within(text) for text in texts)
    return ours == outcome(python)


def safe_for_python(*texts: str) -> bool:
    """No number over 9999 anywhere: Python then allocates at most a few kB."""
    return all(digit_runs_within(text, 9999) for text in texts)


def refused_fast(call: Callable[[], object], error: type[Exception] = FormatLimit) -> None:
    """``call`` raises ``error`` within 0.1 s (so before any big allocation)."""
    start = time.perf_counter()
    with pytest.raises(error):
        call()
    assert time.perf_counter() - start < 0.1


class Shown:
    """Stands for an interpreter-owned object (a function, a grad_fn view ...)."""

    def shown(self) -> str:
        return "<function f>"


# --------------------------------------------------------------------------- strategies

plain_values = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e-7, 123456.789, float("nan"), float("-inf")]),
    st.text(max_size=12),
    st.booleans(),
)
small_values = st.one_of(  # ints small enough to be used as a '*' or nested width
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
)
widths = st.one_of(st.just(""), st.integers(0, 1000).map(str))


@st.composite
def valid_specs(draw: st.DrawFn) -> str:
    """Specs in the mini-language, each part present or not."""
    align = draw(st.sampled_from(["", "<", ">", "=", "^"]))
    fill = draw(st.one_of(st.just(""), st.characters(exclude_categories=["Cs"]))) if align else ""
    precision = draw(st.one_of(st.just(""), st.integers(0, 1000).map(lambda p: f".{p}")))
    return "".join([
        fill, align,
        draw(st.sampled_from(["", "+", "-", " "])),
        draw(st.sampled_from(["", "z"])),
        draw(st.sampled_from(["", "#"])),
        draw(st.sampled_from(["", "0"])),
        draw(widths),
        draw(st.sampled_from(["", ",", "_"])),
        precision,
        draw(st.sampled_from(["", *"bcdeEfFgGnosxX%"])),
    ])


raw_specs = st.text(alphabet="<>=^+- z#0123456789,_.bcdeEfFgGnosxX%a1", max_size=12)


# --------------------------------------------------------------------------- format_field


@PROPERTY
@given(value=plain_values, spec=valid_specs())
def test_format_field_matches_format_on_valid_specs(value: object, spec: str) -> None:
    assert outcome(lambda: format_field(value, spec)) == outcome(lambda: format(value, spec))


@PROPERTY
@given(value=plain_values, spec=raw_specs)
def test_format_field_matches_format_on_any_spec(value: object, spec: str) -> None:
    assume(safe_for_python(spec))  # never ask Python for '>999999999999'
    assert matches_python(outcome(lambda: format_field(value, spec)),
                          lambda: format(value, spec), spec)


@PROPERTY
@given(value=plain_values, spec=valid_specs(), conversion=st.sampled_from(["s", "r", "a"]))
def test_conversions_match_python(value: object, spec: str, conversion: str) -> None:
    convert = {"s": str, "r": repr, "a": ascii}[conversion]
    expected = outcome(lambda: format(convert(value), spec))
    assert outcome(lambda: format_field(value, spec, conversion)) == expected


def test_unknown_conversion_is_pythons_error() -> None:
    assert outcome(lambda: format_field(1, "", "x")) == outcome(lambda: "{!x}".format(1))


def test_unicode_digit_width_is_read_as_python_does() -> None:
    assert format_field(1, "\u0661\u0660") == format(1, "\u0661\u0660")  # Arabic-Indic 10


scalar_tensors = [
    torch.tensor(1.5), torch.tensor(-0.0), torch.tensor(2.0, dtype=torch.float64),
    torch.tensor(7), torch.tensor(True), torch.tensor(1 + 2j), torch.tensor(float("nan")),
    torch.tensor(2.5, requires_grad=True),
]
other_values = [
    torch.tensor([1.5]), torch.tensor([[1.0, 2.0]]), torch.nn.Parameter(torch.tensor(1.5)),
    torch.Size([2, 3]), torch.float32, torch.device("cpu"), None, [1, 2], (1,), {"a": 1},
    range(3),
]
tensor_specs = ["", ".3f", ">12", "e", "d", "x", "+.2%", "^9.1", "s"]


@pytest.mark.parametrize("spec", tensor_specs)
@pytest.mark.parametrize("value", scalar_tensors + other_values, ids=repr)
def test_format_field_on_torch_and_containers_matches_python(value: object, spec: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = outcome(lambda: format(value, spec))
    assert outcome(lambda: format_field(value, spec)) == expected


def test_tensor_format_cases_the_brief_names() -> None:
    t = torch.tensor(1.23456)
    assert format_field(t, ".3f") == f"{t:.3f}" == "1.235"
    assert format_field(t) == f"{t}" == "1.2345600128173828"  # item(), not tensor(...)
    vector = torch.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"^unsupported format string passed to "
                                        r"Tensor\.__format__$"):
        format_field(vector, ".3f")
    assert format_field(vector) == f"{vector}" == str(vector)


# --------------------------------------------------------------------------- str / repr

leaves = st.one_of(plain_values, st.none(), st.builds(range, st.integers(-5, 5),
                                                       st.integers(-5, 5)))
nested = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(), st.tuples(st.integers())),
                        children, max_size=3),
    ),
    max_leaves=30,
)


@PROPERTY
@given(value=nested)
def test_display_matches_str_and_repr(value: object) -> None:
    assert display_str(value) == str(value)
    assert display_repr(value) == repr(value)


@pytest.mark.parametrize("value", scalar_tensors + other_values + [
    torch.max(torch.tensor([[1.0, 2.0]]), 0), [torch.tensor([1.0, 2.0]), torch.float64],
    {"w": torch.device("cpu"), "s": torch.Size([])}, "é\n'", ["é\n'"]], ids=repr)
def test_display_of_torch_values_matches_python(value: object) -> None:
    assert display_str(value) == str(value)
    assert display_repr(value) == repr(value)


def test_self_containing_values_print_as_python_does() -> None:
    items: list[object] = []
    items.append(items)
    pair = (items, 1)
    items.append(pair)
    table: dict[str, object] = {}
    table["me"] = table
    table["list"] = items
    for value in (items, pair, table):
        assert display_repr(value) == repr(value)


def nested_list(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_bound_is_inclusive() -> None:
    assert display_repr(nested_list(MAX_DEPTH)) == repr(nested_list(MAX_DEPTH))
    with pytest.raises(FormatLimit, match="nested more than 20"):
        display_repr(nested_list(MAX_DEPTH + 1))


def test_very_deep_list_is_refused_fast_without_recursion_error() -> None:
    deep = nested_list(200_000)
    refused_fast(lambda: display_str(deep))
    refused_fast(lambda: format_field(deep))
    refused_fast(lambda: percent_format("%s", (deep,)))


def test_item_bound_is_inclusive_and_counts_inner_containers() -> None:
    assert display_repr(list(range(MAX_ITEMS))) == repr(list(range(MAX_ITEMS)))
    refused_fast(lambda: display_repr(list(range(MAX_ITEMS + 1))))
    inner = [[0] * 100 for _ in range(100)]  # 100 + 10,000 elements
    refused_fast(lambda: display_str(inner))
    refused_fast(lambda: display_str([0] * 10**7))


def test_long_text_is_refused() -> None:
    with pytest.raises(FormatLimit, match="longer than 100,000"):
        display_str("a" * 100_001)
    assert display_str("a" * 100_000) == "a" * 100_000
    refused_fast(lambda: display_repr(["a" * 60_000, "b" * 60_000]))
    with pytest.raises(FormatLimit):
        display_repr([1, 2, 3], max_chars=8)
    assert display_repr([1, 2, 3], max_chars=9) == "[1, 2, 3]"


def test_a_precision_can_cut_a_long_string_short() -> None:
    """The string exists already; only the shown text has to be small."""
    long_text = "a" * 200_000
    assert percent_format("%.3s", long_text) == "aaa"
    assert format_field(long_text, ".3", "s") == format_field(long_text, ".3") == "aaa"
    assert str_format("{!s:.2}", [long_text], {}) == "aa"
    with pytest.raises(FormatLimit):
        percent_format("%.3r", long_text)  # its repr would be a new 200,002-character text


def test_interpreter_objects_use_shown_everywhere() -> None:
    fn = Shown()
    assert display_str(fn) == display_repr(fn) == "<function f>"
    assert display_repr([fn, (fn,)]) == "[<function f>, (<function f>,)]"
    assert format_field(fn) == "<function f>"
    assert format_field(fn, ">14", "r") == "  <function f>"
    with pytest.raises(TypeError, match=r"unsupported format string passed to Shown\.__format__"):
        format_field(fn, ">14")
    assert percent_format("%s|%r", (fn, fn)) == "<function f>|<function f>"
    assert str_format("{} {!r}", [fn, fn], {}) == "<function f> <function f>"


class Sneaky(str):
    """A value outside the language: its own __format__/__str__ must never run."""

    def __format__(self, spec: str) -> str:
        raise AssertionError("__format__ of an unknown type was called")

    def __str__(self) -> str:
        raise AssertionError("__str__ of an unknown type was called")

    __repr__ = __str__


@pytest.mark.parametrize("value", [object(), Sneaky("x"), type, print, b"x",
                                   torch.nn.Linear(1, 1)], ids=lambda v: type(v).__name__)
def test_values_outside_the_language_are_refused(value: object) -> None:
    for call in (lambda: display_str(value), lambda: display_repr([value]),
                 lambda: format_field(value), lambda: format_field(value, ">3"),
                 lambda: percent_format("%s", (value,)), lambda: percent_format("%r", (value,)),
                 lambda: str_format("{}", [value], {}), lambda: str_format("{!r}", [value], {})):
        with pytest.raises(TypeError):
            call()


def test_shown_must_return_text() -> None:
    class Broken:
        def shown(self) -> object:
            return 3

    with pytest.raises(TypeError, match="returned a int"):
        display_str(Broken())


# --------------------------------------------------------------------------- f-strings


def fstring_by_walking(source: str, names: dict[str, object]) -> str:
    """What the interpreter will do: walk the JoinedStr, look names up, format the parts."""
    joined = ast.parse(source, mode="eval").body
    assert isinstance(joined, ast.JoinedStr)

    def pieces(node: ast.JoinedStr):
        for item in node.values:
            if isinstance(item, ast.Constant):
                yield item.value
                continue
            assert isinstance(item, ast.FormattedValue) and isinstance(item.value, ast.Name)
            value = names[item.value.id]
            spec = "" if item.format_spec is None else format_fstring_parts(
                pieces(item.format_spec))  # type: ignore[arg-type]
            yield FormattedPart(value, conversion_of(item.conversion), spec)

    return format_fstring_parts(pieces(joined))


FSTRINGS = ['f"{x=}"', 'f"{x = }"', 'f"{x=:.2f}"', 'f"{x=!s:>12}"', 'f"{x!r}"', 'f"{x!a}"',
            'f"{x:{w}.{p}f}"', 'f"{x!r:>{w}}"', 'f"{{x}} {x:{w}}|{x:^{w}}"', 'f"{x:}"',
            'f"[{x:{f}{w}}]"']


@pytest.mark.parametrize("source", FSTRINGS)
@pytest.mark.parametrize("x", [1.23456, 7, "é", torch.tensor(2.5), torch.tensor([1.0, 2.0]),
                               True, None, [1, "a"]], ids=repr)
def test_fstrings_match_compiled_python(source: str, x: object) -> None:
    names = {"x": x, "w": 12, "p": 3, "f": "*>"}
    expected = outcome(lambda: eval(compile(source, "<test>", "eval"), {}, dict(names)))
    assert outcome(lambda: fstring_by_walking(source, names)) == expected


def test_fstring_self_documenting_field_is_a_constant_plus_repr() -> None:
    module = ast.parse('f"{x=}"')
    joined = module.body[0].value  # type: ignore[attr-defined]
    assert isinstance(joined.values[0], ast.Constant) and joined.values[0].value == "x="
    assert conversion_of(joined.values[1].conversion) == "r"
    t = torch.tensor(1.5)
    assert fstring_by_walking('f"{t=}"', {"t": t}) == f"{t=}" == "t=tensor(1.5000)"


def test_conversion_codes() -> None:
    assert [conversion_of(code) for code in (-1, 115, 114, 97)] == [None, "s", "r", "a"]
    with pytest.raises(ValueError):
        conversion_of(120)


def test_fstring_fields_are_formatted_in_order() -> None:
    """A failing field stops the f-string before later expressions are evaluated."""
    evaluated: list[str] = []

    def pieces():
        evaluated.append("a")
        yield FormattedPart(torch.tensor([1.0]), None, ".2f")
        evaluated.append("b")
        yield FormattedPart(2)

    with pytest.raises(TypeError):
        format_fstring_parts(pieces())
    assert evaluated == ["a"]


# --------------------------------------------------------------------------- % formatting

percent_types = st.sampled_from([*"diouxXeEfFgGcrsa", "%", "y", "\x01", "é"])


@st.composite
def percent_conversions(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(["", "", "(a)", "(b)", "(zz)", "((a))"]))
    flags = "".join(draw(st.lists(st.sampled_from(list("-+ #0")), max_size=3)))
    width = draw(st.one_of(widths, st.just("*")))
    precision = draw(st.sampled_from(["", ".", ".*", ".0", ".3", ".12", ".1000"]))
    length = draw(st.sampled_from(["", "", "h", "l", "L"]))
    return "%" + key + flags + width + precision + length + draw(percent_types)


percent_templates = st.lists(
    st.one_of(percent_conversions(), st.text(alphabet="ab %()", max_size=4)), max_size=4
).map("".join)
raw_percent_templates = st.text(alphabet="%()*.-+ #0123456789hlLdsrfxca", max_size=10)


@st.composite
def percent_args(draw: st.DrawFn, values: st.SearchStrategy[object]) -> object:
    return draw(st.one_of(
        values,
        st.lists(values, max_size=4).map(tuple),
        st.fixed_dictionaries({"a": values, "b": values}),
        st.lists(values, max_size=2),
    ))


@PROPERTY
@given(template=st.one_of(percent_templates, raw_percent_templates),
       args=percent_args(small_values))
def test_percent_format_matches_python(template: str, args: object) -> None:
    assume(safe_for_python(template, str(args)))
    assert matches_python(outcome(lambda: percent_format(template, args)),
                          lambda: template % args, template, str(args))


@PROPERTY
@given(template=percent_templates.filter(lambda t: "*" not in t), args=percent_args(plain_values))
def test_percent_format_matches_python_on_big_values(template: str, args: object) -> None:
    assert outcome(lambda: percent_format(template, args)) == outcome(lambda: template % args)


PERCENT_CASES = [
    ("%.2f", torch.tensor(1.5)), ("%d", torch.tensor(3)), ("%d", torch.tensor(3.7)),
    ("%s", torch.tensor([1.0, 2.0])), ("%r", (torch.tensor([1.0]),)), ("%d", torch.tensor([3])),
    ("%f", torch.tensor([1, 2])), ("%x", torch.tensor(3)), ("%x", torch.tensor(3.5)),
    ("%c", torch.tensor(65)), ("%c", torch.tensor(6.5)), ("%e", torch.tensor(3)),
    ("%.2f", torch.tensor(1.5, requires_grad=True)), ("%5.1f|%-6d|", (torch.tensor(2.25),
                                                                      torch.tensor(4))),
    ("%d", torch.tensor(1 + 2j)), ("%s", torch.Size([2, 3])), ("%f", torch.Size([1])),
    ("%s", (torch.Size([2, 3]),)), ("%f", (torch.Size([1]),)), ("%d", (torch.float32,)),
    ("%f", (torch.device("cpu"),)), ("%c", (torch.device("cpu"),)), ("%s", torch.device("cpu")),
    ("%r", torch.device("cpu")), ("%d", None), ("%x", [1]), ("%x", ([1],)), ("%o", (range(2),)),
    ("%s %(a)s", {"a": 1}), ("%(a)s %s", {"a": 1}), ("%(a)s", [1]), ("%(a)s", (1,)),
    ("%(a)s", 5), ("%(a)s", range(3)), ("%(a)s", {"b": 1}), ("hi", [1]), ("hi", 5),
    ("hi", torch.tensor(1)), ("hi", "abc"), ("hi", range(3)), ("%5%", ()), ("%5%", (1,)),
    ("%(a)%", {"a": 1}), ("abc%", ()), ("%*d", (True, 3)), ("%.*f", (-3, 1.5)),
    ("%*d", (1.5, 3)), ("%*d", (-7, 3)), ("%(a", {"a": 1}), ("%(a)", {"a": 1}),
    ("%((a))s", {"(a)": 1}), ("%ld|%Lf|%hs", (1, 2.0, "x")), ("%hld", 1), ("%a", "é"),
    ("%s", ((1, 2),)), ("%s", {"a": 1}), ("%-4c|%3c", ("x", 120)), ("%c", (-1,)),
    ("%c", ("ab",)), ("%.0s|%.3r", ("abc", "abc")), ("%+05d|% .2e|%#x|%#o", (3, 2.5, 255, 8)),
    ("%s", ()), ("%%", ()), ("%%", (1,)), ("%s", "%s"), ("%.*f", (10**40 * -1, 1.5)),
]


@pytest.mark.parametrize(("template", "args"), PERCENT_CASES, ids=repr)
def test_percent_cases_match_python(template: str, args: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = outcome(lambda: template % args)
    assert outcome(lambda: percent_format(template, args)) == expected


def test_percent_key_on_a_tensor_is_refused_plainly() -> None:
    """Python would index the tensor with the key text; the interpreter does not."""
    with pytest.raises(TypeError, match="format requires a mapping"):
        percent_format("%(a)s", torch.tensor([1.0]))


# --------------------------------------------------------------------------- str.format


@st.composite
def format_fields(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["", "", "", "0", "1", "3", "a", "b", "zz"]))
    conversion = draw(st.sampled_from(["", "", "!s", "!r", "!a", "!x"]))
    nested = draw(st.sampled_from(["{}", "{0}", "{1}", "{a}", "{b}"]))
    spec = draw(st.one_of(
        st.just(""), valid_specs().filter(lambda s: not set(s) & set("{}")).map(":".__add__),
        st.sampled_from([f":>{nested}", f":{nested}.{nested}", f":*^{nested}", f":{nested}",
                         f":{{{nested}}}"]),
    ))
    return "{" + name + conversion + spec + "}"


format_templates = st.lists(
    st.one_of(format_fields(), st.sampled_from(["{{", "}}", "x", " ", "é", "a{{b}}c"])),
    max_size=4,
).map("".join)
raw_format_templates = st.text(alphabet="{}!:01ab<>^,rsx ", max_size=10)


@PROPERTY
@given(template=st.one_of(format_templates, raw_format_templates),
       args=st.lists(small_values, max_size=4),
       kwargs=st.fixed_dictionaries({}, optional={"a": small_values, "b": small_values}))
def test_str_format_matches_python(template: str, args: list[object],
                                   kwargs: dict[str, object]) -> None:
    assume(safe_for_python(template, str(args), str(kwargs)))
    assert matches_python(outcome(lambda: str_format(template, args, kwargs)),
                          lambda: template.format(*args, **kwargs),
                          template, str(args), str(kwargs))


FORMAT_CASES = [
    ("{} {:.2f}", [1, 2.0], {}), ("{0} {name}", [1], {"name": "b"}), ("{:{}}", ["a", 5], {}),
    ("{0:{}}", ["a", 5], {}), ("{:{0}}", [5], {}), ("{:{:{}}}", [1, 2, 3], {}),
    ("{0} {}", [1], {}), ("{} {0}", [1], {}), ("{1}", [1], {}), ("{a}", [1], {}),
    ("{!x}", [1], {}), ("{\u0660}", [7], {}), ("{99999999999999999999}", [1], {}),
    ("{:.3f}", [torch.tensor(2.0)], {}), ("{}", [torch.tensor(2.0)], {}),
    ("{!s}", [torch.tensor(2.0)], {}), ("{:.3f}", [torch.tensor([2.0])], {}),
    ("{:>5}", [None], {}), ("{}", [[1, (2,)]], {}), ("{!a:>6}", ["é"], {}), ("{", [], {}),
    ("}", [], {}), ("{0!}", [1], {}), ("{0!rr}", [1], {}), ("{:{}}", [1.5, "*^9"], {}),
    ("{a}{b}", [], {"a": torch.Size([1]), "b": torch.float16}), ("{x{y}}", [], {}),
]


@pytest.mark.parametrize(("template", "args", "kwargs"), FORMAT_CASES, ids=repr)
def test_str_format_cases_match_python(template: str, args: list[object],
                                       kwargs: dict[str, object]) -> None:
    expected = outcome(lambda: template.format(*args, **kwargs))
    assert outcome(lambda: str_format(template, args, kwargs)) == expected


@pytest.mark.parametrize("template", ["{0.__class__}", "{0[0]}", "{a.real}", "{.real}",
                                      "{[0]}", "{:{0.real}}", "{0.__class__.__mro__[1]}",
                                      "{a[__globals__]}"])
def test_str_format_refuses_attribute_and_index_walking(template: str) -> None:
    with pytest.raises(FormatRefused, match=r"format fields can only name an argument"):
        str_format(template, [[1]], {"a": 1.5})


# --------------------------------------------------------------------------- attacks

BOMBS = [  # each: a call that must be refused fast; the id says what it tries
    pytest.param(lambda: format_field(1, ">1000000000"), id="field >1e9"),
    pytest.param(lambda: format_field(1, ">1001"), id="field >1001"),
    pytest.param(lambda: format_field(1.0, ".1000000000f"), id="field .1e9f"),
    pytest.param(lambda: format_field("a", "<" + "9" * 1_000_000), id="field 1e6 nines"),
    pytest.param(lambda: format_field(1, ">\u0661" + "\u0660" * 6), id="field unicode digits"),
    pytest.param(lambda: format_field(torch.tensor(1.0), "010000000000.3f"),
                 id="tensor 0-padded"),
    pytest.param(lambda: format_fstring_parts([FormattedPart(1, None, format_fstring_parts(
        [">", FormattedPart(10**9)]))]), id="fstring nested width"),
    pytest.param(lambda: str_format("{:>1000000000}", [1], {}), id="format >1e9"),
    pytest.param(lambda: str_format("{:>{}}", [1, 10**9], {}), id="format nested width"),
    pytest.param(lambda: str_format("{:.{}f}", [1.0, 10**9], {}), id="format nested precision"),
    pytest.param(lambda: str_format("{:{w}}", ["x"], {"w": 10**100}), id="format named width"),
    pytest.param(lambda: percent_format("%*d", (10**9, 1)), id="percent star width"),
    pytest.param(lambda: percent_format("%-*d", (-(10**9), 1)), id="percent negative star"),
    pytest.param(lambda: percent_format("%.*f", (10**9, 1.0)), id="percent star precision"),
    pytest.param(lambda: percent_format("%1000000000d", 1), id="percent literal width"),
    pytest.param(lambda: percent_format("%.1000000000f", 1.0), id="percent literal precision"),
    pytest.param(lambda: percent_format("%(a)1000000000s", {"a": 1}), id="percent key width"),
    pytest.param(lambda: percent_format("%1001s", "x"), id="percent 1001"),
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_width_and_precision_bombs_are_refused_fast(bomb: Callable[[], object]) -> None:
    refused_fast(bomb)


def test_bounds_are_inclusive() -> None:
    """1,000 is allowed; the references are Python's own operators."""
    assert str_format("{:>1000}", [1], {}) == "{:>1000}".format(1)  # noqa: UP032
    assert format_field(1.5, ".1000f") == format(1.5, ".1000f")
    assert percent_format("%1000.1000f", 1.5) == "%1000.1000f" % 1.5  # noqa: UP031
    assert percent_format("%*.*f", (1000, 1000, 1.5)) == "%*.*f" % (1000, 1000, 1.5)  # noqa: UP031


def test_many_bounded_fields_cannot_add_up_to_a_bomb() -> None:
    refused_fast(lambda: str_format("{:>1000}" * 200, [1] * 200, {}))
    refused_fast(lambda: percent_format("%1000s" * 200, ("x",) * 200))
    refused_fast(lambda: format_fstring_parts([FormattedPart(1, None, ">1000")] * 200))
    assert len(str_format("{:>1000}" * 100, [1] * 100, {})) == 100_000


def test_module_never_formats_a_user_template_as_a_whole() -> None:
    source = inspect.getsource(formatting)
    code = ast.parse(source)
    calls = [node for node in ast.walk(code) if isinstance(node, ast.Call)]
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else
              getattr(node.func, "id", "") for node in calls}
    assert not called & {"format_map", "vformat", "eval", "exec", "compile", "__import__",
                         "setattr", "__format__"}
    assert "format" not in {node.func.attr for node in calls
                            if isinstance(node.func, ast.Attribute)}  # no "...".format(...)
    getattr_names = [node.args[1] for node in calls
                     if getattr(node.func, "id", "") == "getattr"]
    assert all(isinstance(name, ast.Constant) for name in getattr_names)
