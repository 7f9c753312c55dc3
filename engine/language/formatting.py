"""Python's string formatting (str/repr, f-strings, ``%``, ``str.format``), done by hand.

Why by hand: the safe interpreter must give learners exactly what Python gives, but the
real machinery is dangerous with hostile programs. ``'{0.__class__}'.format(x)`` walks
attributes, ``'%*d' % (10**9, 1)`` or ``f'{1:>{10**9}}'`` allocates gigabytes, and a list
nested 100,000 deep overflows the C stack in ``repr``. So this module parses every template
and format spec itself, refuses what it must (``FormatLimit``, ``FormatRefused``) BEFORE any
big allocation, and only then hands a single *plain* value (int, float, bool, str,
complex: builtins whose formatting is pure arithmetic) and a validated, bounded spec to
Python's own ``format`` / ``%``, so the digits are Python's, not a re-implementation.

Rules kept everywhere: no ``str.format``/``format_map``/``Formatter().format`` and no ``%``
on a user template as a whole; no ``getattr`` with user text; no eval/exec/compile.
Everything is iterative or bounded, so no input can exhaust the Python stack.

Values the interpreter may hand in: None, bool, int, float, complex, str, tuple, list,
dict, range, torch.Tensor (and subclasses such as Parameter), torch.Size, torch.dtype,
torch.device, torch.return_types tuples, and interpreter-owned objects whose class defines
``shown() -> str`` (their str AND repr). Anything else raises TypeError.
"""

from __future__ import annotations

import operator
import sys
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from string import Formatter

import torch

MAX_WIDTH = 1_000
"""Largest width or precision any format may ask for (inclusive)."""
MAX_DEPTH = 20
"""Deepest nesting of lists/tuples/dicts that can be shown (inclusive)."""
MAX_ITEMS = 10_000
"""Most elements (summed over every list/tuple/dict inside a value) that can be shown."""
MAX_CHARS = 100_000
"""Default longest text any function here returns."""

_PLAIN_TYPES = (int, float, bool, str, complex)
_CONTAINER_TYPES = (list, tuple, dict, OrderedDict, set, frozenset, type({}.keys()),
                    type({}.values()), type({}.items()))
_ALIGNMENTS = "<>=^"
_HEAPTYPE_FLAG = 1 << 9
_FIELD_PARSER = Formatter()  # only its .parse (C's MarkupIterator), never .format/.vformat
_FIELD_REFUSAL = (
    "format fields can only name an argument ({0} or {name}); "
    "write the attribute in the program: '{}'.format(x.grad)"
)


class FormatLimit(ValueError):
    """A value or format asks for more text than a lesson can show; refused before work."""


class FormatRefused(ValueError):
    """A ``str.format`` field tries to walk into an argument (``{0.attr}``, ``{0[i]}``)."""


# --------------------------------------------------------------------------- helpers


def type_name(value: object) -> str:
    """The name CPython's error messages use for ``type(value)`` (its ``tp_name``).

    Why: messages such as "must be real number, not torch.Size" must match Python's word
    for word. Heap types (Python classes: Tensor, Parameter) use their bare name; static C
    types outside builtins carry their module ("torch.Size", "torch.dtype").
    """
    cls = type(value)
    if cls.__flags__ & _HEAPTYPE_FLAG or cls.__module__ == "builtins":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _too_long(max_chars: int) -> FormatLimit:
    """The refusal for text longer than ``max_chars``, with what to do instead."""
    return FormatLimit(
        f"This text would be longer than {max_chars:,} characters, too long to show. "
        "Show a part of it instead, for example print(x[:10]) or print(x.shape)."
    )


def _too_wide(what: str) -> FormatLimit:
    """The refusal for a width or precision above MAX_WIDTH (the number is never echoed:
    it may be a million digits long)."""
    return FormatLimit(
        f"The {what} in this format is more than {MAX_WIDTH:,}: widths and precisions can "
        f"be at most {MAX_WIDTH:,} characters, so the text stays readable. Use a smaller "
        "number, for example f'{x:>10}' or f'{x:.4f}'."
    )


class _TextBuilder:
    """Collects pieces of output and refuses as soon as the total passes ``max_chars``.

    Why: a loop of bounded fields can still add up to gigabytes; checking as we go stops
    before the join, not after.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.parts: list[str] = []
        self.length = 0

    @property
    def room(self) -> int:
        """How many more characters fit."""
        return self.max_chars - self.length

    def add(self, piece: str) -> None:
        """Append ``piece`` or raise FormatLimit if the total would be too long."""
        self.length += len(piece)
        if self.length > self.max_chars:
            raise _too_long(self.max_chars)
        self.parts.append(piece)

    def text(self) -> str:
        """Everything added so far, as one string."""
        return "".join(self.parts)


def _ascii(text: str) -> str:
    """What ``ascii()`` does to a repr: escape every non-ASCII character (CPython encodes
    the repr with 'backslashreplace', which is exactly this)."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


# --------------------------------------------------------------------------- str / repr


def _shown_method(value: object) -> Callable[[], str] | None:
    """The interpreter-owned object's ``shown`` if its class defines one, else None.

    Looked up on the class with a constant name, so no user text reaches getattr.
    """
    method = getattr(type(value), "shown", None)
    if callable(method):
        return lambda: method(value)
    return None


def _not_showable(value: object) -> TypeError:
    """The error for a value outside the language's value set."""
    return TypeError(
        f"a value of type {type_name(value)} cannot be turned into text here: only numbers, "
        "strings, lists, tuples, dicts, ranges, tensors and the program's own functions and "
        "values can be shown"
    )


def _is_return_types(value: object) -> bool:
    """True for torch's named result tuples (``torch.max(x, 0)``), whose repr is torch's."""
    return isinstance(value, tuple) and type(value).__module__ == "torch.return_types"


def _leaf_text(value: object, *, as_str: bool, room: int) -> str:
    """str() (``as_str``) or repr() of one value that is not a list/tuple/dict.

    Only calls str/repr of builtin and torch types whose text is bounded by the value's
    own size (torch summarises big tensors), and ``shown()`` for interpreter objects.
    """
    cls = type(value)
    if value is None:
        return "None"
    if cls is str:
        if as_str:
            if len(value) > room:
                raise _too_long(room)
            return value
        if len(value) + 2 > room:  # repr is at least two quotes longer
            raise _too_long(room)
        return repr(value)
    if cls in (bool, int, float, complex, range):
        return repr(value)  # str() equals repr() for these
    if isinstance(value, torch.Tensor) or cls in (torch.Size, torch.dtype, torch.device):
        return str(value) if as_str else repr(value)
    if _is_return_types(value):
        return repr(value)
    shown = _shown_method(value)
    if shown is None:
        raise _not_showable(value)
    text = shown()
    if type(text) is not str:
        raise TypeError(f"{type_name(value)}.shown() returned a {type_name(text)}, not a str")
    return text


_DICT_VIEWS = {type({}.keys()): "dict_keys", type({}.values()): "dict_values",
               type({}.items()): "dict_items"}
_OPENERS = {list: "[", tuple: "(", dict: "{", set: "{", frozenset: "frozenset({",
            OrderedDict: "OrderedDict([",
            **{view: f"{name}([" for view, name in _DICT_VIEWS.items()}}
_CLOSERS = {list: "]", tuple: ")", dict: "}", set: "}", frozenset: "})", OrderedDict: "])",
            **{view: "])" for view in _DICT_VIEWS}}
_EMPTY = {list: "[]", tuple: "()", dict: "{}", set: "set()", frozenset: "frozenset()",
          OrderedDict: "OrderedDict()",
          **{view: f"{name}([])" for view, name in _DICT_VIEWS.items()}}
_CYCLE = {list: "[...]", tuple: "(...)", dict: "{...}", OrderedDict: "OrderedDict(...)"}
_TEXT, _VALUE, _LEAVE = 0, 1, 2


def _render(value: object, *, top_as_str: bool, max_chars: int) -> str:
    """str()/repr() of any value, walking containers with an explicit stack.

    Why a stack: Python's own repr recurses in C and a hostile 100,000-deep list would
    crash; here depth, total items and output length are all counted and refused early.
    Self-containing lists print as ``[...]`` exactly as Python does.
    """
    out = _TextBuilder(max_chars)
    if type(value) not in _CONTAINER_TYPES:
        out.add(_leaf_text(value, as_str=top_as_str, room=max_chars))
        return out.text()
    items = 0
    depth = 0
    on_path: set[int] = set()
    stack: list[tuple[int, object]] = [(_VALUE, value)]
    while stack:
        action, item = stack.pop()
        if action == _TEXT:
            out.add(item)  # type: ignore[arg-type]
            continue
        if action == _LEAVE:
            on_path.discard(item)  # type: ignore[arg-type]
            depth -= 1
            continue
        cls = type(item)
        if cls not in _CONTAINER_TYPES:
            out.add(_leaf_text(item, as_str=False, room=out.room))
            continue
        if id(item) in on_path:
            out.add(_CYCLE[cls])
            continue
        items += len(item)  # type: ignore[arg-type]
        _check_container_bounds(depth + 1, items)
        if not item:
            out.add(_EMPTY[cls])
            continue
        depth += 1
        on_path.add(id(item))
        stack.extend(_container_steps(item))
    return out.text()


def _check_container_bounds(depth: int, items: int) -> None:
    """Refuse values too deep or too big to show, before looking at their elements."""
    if depth > MAX_DEPTH:
        raise FormatLimit(
            f"This value is nested more than {MAX_DEPTH} levels deep (a list inside a list "
            "inside ...), too deep to show as text. Show an inner part instead, for "
            "example print(x[0])."
        )
    if items > MAX_ITEMS:
        raise FormatLimit(
            f"This value holds more than {MAX_ITEMS:,} elements (counting every list, tuple "
            "and dict inside it), too many to show as text. Show a part of it instead, for "
            "example print(x[:10]) or print(len(x))."
        )


def _container_steps(container: object) -> list[tuple[int, object]]:
    """The stack entries that print ``container``, in reverse (the stack pops the end).

    Python's layout: ``[a, b]``, ``(a,)`` for one-element tuples, ``{k: v}``.
    """
    cls = type(container)
    is_dict = cls is dict
    if cls is OrderedDict:  # a module's state_dict(): OrderedDict([('weight', ...), ...])
        entries = list(container.items())  # type: ignore[attr-defined]
    else:
        entries = list(container.items() if is_dict else container)  # type: ignore[attr-defined]
    closer = ",)" if cls is tuple and len(entries) == 1 else _CLOSERS[cls]
    steps: list[tuple[int, object]] = [(_LEAVE, id(container)), (_TEXT, closer)]
    for index in range(len(entries) - 1, -1, -1):
        if is_dict:
            key, val = entries[index]
            steps += [(_VALUE, val), (_TEXT, ": "), (_VALUE, key)]
        else:
            steps.append((_VALUE, entries[index]))
        if index:
            steps.append((_TEXT, ", "))
    steps.append((_TEXT, _OPENERS[cls]))
    return steps


def display_str(value: object, *, max_chars: int = MAX_CHARS) -> str:
    """Exactly Python's ``str(value)`` (torch's text for tensors), bounded.

    Raises FormatLimit for values nested deeper than MAX_DEPTH, holding more than
    MAX_ITEMS elements, or whose text is longer than ``max_chars``.
    """
    return _render(value, top_as_str=True, max_chars=max_chars)


def display_repr(value: object, *, max_chars: int = MAX_CHARS) -> str:
    """Exactly Python's ``repr(value)`` (torch's repr for tensors), bounded like display_str."""
    return _render(value, top_as_str=False, max_chars=max_chars)


def _convert(value: object, conversion: str, max_chars: int) -> str:
    """The ``!s`` / ``!r`` / ``!a`` conversion, with CPython's error for anything else.

    A str under ``!s`` is returned as it is (no copy, no length check): a precision may
    still cut it short, as in ``'%.3s' % long_text``.
    """
    if conversion == "s":
        return value if type(value) is str else display_str(value, max_chars=max_chars)
    if conversion == "r":
        return display_repr(value, max_chars=max_chars)
    if conversion == "a":
        return _ascii(display_repr(value, max_chars=max_chars))
    code = ord(conversion[0]) if conversion else 0
    if 32 < code < 127:
        raise ValueError(f"Unknown conversion specifier {conversion[0]}")
    raise ValueError(f"Unknown conversion specifier \\x{code:x}")


# --------------------------------------------------------------------------- format specs


@dataclass(frozen=True)
class FormatSpec:
    """One parsed spec: ``[[fill]align][sign][z][#][0][width][grouping][.precision][type]``."""

    fill: str | None = None
    align: str | None = None
    sign: str | None = None
    no_negative_zero: bool = False
    alternate: bool = False
    zero_pad: bool = False
    width: int | None = None
    grouping: str | None = None
    precision: int | None = None
    type: str | None = None


def _read_spec_number(spec: str, pos: int, what: str) -> tuple[int | None, int]:
    """Read a run of decimal digits (any script, as CPython does) starting at ``pos``.

    Stops with FormatLimit the moment the number passes MAX_WIDTH, so a spec with a
    million digits costs one short scan and no big integer.
    """
    number: int | None = None
    while pos < len(spec) and spec[pos].isdecimal():
        number = (number or 0) * 10 + unicodedata.decimal(spec[pos])
        if number > MAX_WIDTH:
            raise _too_wide(what)
        pos += 1
    return number, pos


def parse_format_spec(spec: str, owner: str = "object") -> FormatSpec:
    """Parse a format spec the way CPython 3.11 does (Python/formatter_unicode.c).

    Why: the width and precision must be known and bounded BEFORE Python's ``format``
    allocates them. Structural errors carry CPython's messages; ``owner`` is the type name
    the "Invalid format specifier" message names. Type-specific checks (unknown code,
    sign on a string ...) are left to ``format`` itself, which raises them before any work.
    """
    end = len(spec)
    pos = 0
    fill = align = None
    if end >= 2 and spec[1] in _ALIGNMENTS:
        fill, align, pos = spec[0], spec[1], 2
    elif end >= 1 and spec[0] in _ALIGNMENTS:
        align, pos = spec[0], 1
    sign = None
    if pos < end and spec[pos] in "+- ":
        sign, pos = spec[pos], pos + 1
    no_negative_zero = pos < end and spec[pos] == "z"
    pos += no_negative_zero
    alternate = pos < end and spec[pos] == "#"
    pos += alternate
    zero_pad = fill is None and pos < end and spec[pos] == "0"
    pos += zero_pad
    width, pos = _read_spec_number(spec, pos, "width")
    grouping, pos = _read_grouping(spec, pos)
    precision = None
    if pos < end and spec[pos] == ".":
        precision, pos = _read_spec_number(spec, pos + 1, "precision")
        if precision is None:
            raise ValueError("Format specifier missing precision")
    if end - pos > 1:
        raise ValueError(f"Invalid format specifier '{spec}' for object of type '{owner}'")
    kind = spec[pos] if end - pos == 1 else None
    return FormatSpec(fill, align, sign, no_negative_zero, alternate, zero_pad, width,
                      grouping, precision, kind)


def _read_grouping(spec: str, pos: int) -> tuple[str | None, int]:
    """The ',' or '_' thousands separator, with CPython's error for asking for both."""
    grouping = None
    if pos < len(spec) and spec[pos] == ",":
        grouping, pos = ",", pos + 1
    if pos < len(spec) and spec[pos] == "_":
        if grouping is not None:
            raise ValueError("Cannot specify both ',' and '_'.")
        grouping, pos = "_", pos + 1
    if pos < len(spec) and spec[pos] == "," and grouping == "_":
        raise ValueError("Cannot specify both ',' and '_'.")
    return grouping, pos


def _digit_runs_bounded(spec: str) -> bool:
    """Belt and braces: True if every run of decimal digits in ``spec`` is <= MAX_WIDTH.

    In any spec Python accepts, the digit runs are the fill (one character), the width
    (with its '0' flag) and the precision, so this holds exactly when the width and
    precision are bounded, whatever the parser above might have missed.
    """
    run = 0
    for char in spec:
        if char.isdecimal():
            run = run * 10 + unicodedata.decimal(char)
            if run > MAX_WIDTH:
                return False
        else:
            run = 0
    return True


def _format_plain(value: object, spec: str) -> str:
    """Python's ``format(value, spec)`` for an int/float/bool/str/complex, after checks."""
    if spec:
        parse_format_spec(spec, type_name(value))
        if not _digit_runs_bounded(spec):
            raise _too_wide("width or precision")
    return format(value, spec)


def _is_known_value(value: object) -> bool:
    """True for every value the language can hold (see the module docstring)."""
    return (
        value is None
        or type(value) in _PLAIN_TYPES
        or type(value) in (*_CONTAINER_TYPES, range, torch.Size, torch.dtype, torch.device)
        or isinstance(value, torch.Tensor)
        or _is_return_types(value)
        or _shown_method(value) is not None
    )


def format_field(
    value: object, spec: str = "", conversion: str | None = None, *, max_chars: int = MAX_CHARS
) -> str:
    """What Python does for ``f"{value!conversion:spec}"`` and ``"{!c:spec}".format(value)``.

    The conversion ('s', 'r', 'a' or None) turns the value into a str first. Then:
    int/float/bool/str/complex use Python's ``format`` after the spec is parsed and its
    width/precision bounded; a plain 0-dim ``torch.Tensor`` formats its ``.item()``
    (torch's ``Tensor.__format__``); everything else follows ``object.__format__``: an
    empty spec gives ``str(value)``, any other spec is Python's TypeError.
    """
    if conversion is not None:
        value = _convert(value, conversion, max_chars)
    if type(value) in _PLAIN_TYPES:
        text = _format_plain(value, spec)
    elif _is_plain_scalar_tensor(value):
        text = _format_plain(value.detach().item(), spec)  # type: ignore[attr-defined]
    elif not _is_known_value(value):
        raise _not_showable(value)
    elif spec:
        raise TypeError(f"unsupported format string passed to {type_name(value)}.__format__")
    else:
        text = display_str(value, max_chars=max_chars)
    if len(text) > max_chars:
        raise _too_long(max_chars)
    return text


def _is_plain_scalar_tensor(value: object) -> bool:
    """torch's own test in ``Tensor.__format__``: formats via ``.item()`` only for a
    0-dim, non-meta tensor whose type is exactly Tensor (a Parameter is not)."""
    return type(value) is torch.Tensor and value.dim() == 0 and not value.is_meta


# --------------------------------------------------------------------------- f-strings

_CONVERSION_CODES = {-1: None, 115: "s", 114: "r", 97: "a"}


def conversion_of(code: int) -> str | None:
    """The conversion letter for ``ast.FormattedValue.conversion`` (-1 means none)."""
    if code not in _CONVERSION_CODES:
        raise ValueError(f"unknown f-string conversion code {code}")
    return _CONVERSION_CODES[code]


@dataclass(frozen=True)
class FormattedPart:
    """One evaluated ``{...}`` of an f-string: its value, conversion letter and spec text."""

    value: object
    conversion: str | None = None
    spec: str = ""


def format_fstring_parts(
    parts: Iterable[str | FormattedPart], *, max_chars: int = MAX_CHARS
) -> str:
    """Join an f-string's pieces: literal strings as they are, FormattedParts formatted.

    How the interpreter uses it, for an ``ast.JoinedStr`` node (``f"{x=}"`` arrives
    already split by Python into ``Constant('x=')`` and a FormattedValue with conversion
    114, or -1 when it has a spec):

        def pieces(node):
            for item in node.values:
                if isinstance(item, ast.Constant):
                    yield item.value
                else:                                   # ast.FormattedValue
                    value = evaluate(item.value)        # the expression first,
                    spec = ("" if item.format_spec is None   # then the nested spec,
                            else format_fstring_parts(pieces(item.format_spec)))
                    yield FormattedPart(value, conversion_of(item.conversion), spec)
        text = format_fstring_parts(pieces(node))

    Passing a generator keeps Python's order exactly: each field is formatted (and may
    raise) before the next field's expression is evaluated.
    """
    out = _TextBuilder(max_chars)
    for part in parts:
        if isinstance(part, FormattedPart):
            out.add(format_field(part.value, part.spec, part.conversion, max_chars=out.room))
        elif type(part) is str:
            out.add(part)
        else:
            raise TypeError(f"f-string piece must be str or FormattedPart, not {type_name(part)}")
    return out.text()


# --------------------------------------------------------------------------- % formatting


@dataclass
class _PercentArgs:
    """CPython's argument cursor for ``template % args`` (Objects/unicodeobject.c).

    A tuple (any tuple subclass, so torch.Size too) is spread over the conversions; any
    other value is one argument. ``mapping`` is set for values CPython treats as
    mappings (dict, list, range, Tensor: they have ``__getitem__``) for ``%(key)s``.
    """

    args: object
    arglen: int
    argidx: int
    mapping: object | None

    @classmethod
    def of(cls, args: object) -> _PercentArgs:
        """The cursor CPython starts with for ``args``."""
        is_tuple = isinstance(args, tuple)
        is_mapping = type(args) in (dict, list, range) or isinstance(args, torch.Tensor)
        return cls(
            args=args,
            arglen=len(args) if is_tuple else -1,  # type: ignore[arg-type]
            argidx=0 if is_tuple else -2,
            mapping=args if is_mapping and not is_tuple else None,
        )

    def next(self) -> object:
        """The next argument, or CPython's TypeError when there is none left."""
        if self.argidx < self.arglen:
            self.argidx += 1
            if self.arglen < 0:
                return self.args
            return self.args[self.argidx - 1]  # type: ignore[index]
        raise TypeError("not enough arguments for format string")

    def use_key(self, key: str) -> None:
        """``%(key)``: the mapping's value becomes the one argument of this conversion."""
        mapping = self.mapping
        if type(mapping) is dict:
            if key not in mapping:
                raise KeyError(key)
            self.args = mapping[key]
        elif type(mapping) in (list, range):
            raise TypeError(f"{type_name(mapping)} indices must be integers or slices, not str")
        else:  # a tensor: Python would index it with a str; refuse plainly instead
            raise TypeError("format requires a mapping")
        self.arglen, self.argidx = -1, -2


@dataclass
class _PercentSpec:
    """One parsed ``%`` conversion: flags, width, precision, type character and where it
    ends in the template."""

    flags: str
    width: int
    precision: int
    kind: str
    end: int


class _Cursor:
    """Reads a template the way CPython's loop does, with its ``fmtcnt`` counter kept
    faithfully so every error (incomplete format, ...) comes at the same place."""

    def __init__(self, template: str, pos: int) -> None:
        self.template = template
        self.pos = pos
        self.remaining = len(template) - pos
        self.char = template[pos] if pos < len(template) else "\0"

    def advance(self) -> bool:
        """Read the next character into ``char``; False (and nothing read) at the end."""
        self.remaining -= 1
        if self.remaining < 0:
            return False
        self.char = self.template[self.pos]
        self.pos += 1
        return True


def _star_argument(args: _PercentArgs) -> int:
    """The int a ``*`` takes from the arguments (bool counts: it is an int in CPython)."""
    value = args.next()
    if type(value) not in (int, bool):
        raise TypeError("* wants int")
    return int(value)  # type: ignore[call-overload]


def _read_percent_number(cursor: _Cursor, what: str) -> int:
    """A run of ASCII digits (the first already in ``cursor.char``), bounded as it grows."""
    number = ord(cursor.char) - ord("0")
    while cursor.advance():
        if not "0" <= cursor.char <= "9":
            break
        number = number * 10 + ord(cursor.char) - ord("0")
        if number > MAX_WIDTH:
            raise _too_wide(what)
    return number


def _parse_percent_key(cursor: _Cursor, args: _PercentArgs) -> None:
    """``%(key)``: balanced parentheses, then the mapping lookup."""
    if args.mapping is None:
        raise TypeError("format requires a mapping")
    cursor.pos += 1
    cursor.remaining -= 1
    key_start = cursor.pos
    depth = 1
    while depth > 0 and cursor.advance():
        if cursor.char == ")":
            depth -= 1
        elif cursor.char == "(":
            depth += 1
    if cursor.remaining < 0 or depth > 0:
        raise ValueError("incomplete format key")
    args.use_key(cursor.template[key_start : cursor.pos - 1])


def _parse_percent_spec(template: str, pos: int, args: _PercentArgs) -> _PercentSpec:
    """Parse one conversion after its '%' (CPython's unicode_format_arg_parse), taking
    ``*`` values from ``args`` and refusing widths/precisions over MAX_WIDTH."""
    cursor = _Cursor(template, pos)
    if cursor.char == "(":
        _parse_percent_key(cursor, args)
    flags = ""
    while cursor.advance():
        if cursor.char not in "-+ #0":
            break
        flags += cursor.char
    width = -1
    if cursor.char == "*":
        width = _star_argument(args)
        if width < 0:
            flags, width = flags + "-", -width
        if width > MAX_WIDTH:
            raise _too_wide("width")
        cursor.advance()
    elif "0" <= cursor.char <= "9":
        width = _read_percent_number(cursor, "width")
    precision = _parse_percent_precision(cursor, args)
    if cursor.remaining >= 0 and cursor.char in "hlL":
        cursor.advance()
    if cursor.remaining < 0:
        raise ValueError("incomplete format")
    return _PercentSpec(flags, width, precision, cursor.char, cursor.pos)


def _parse_percent_precision(cursor: _Cursor, args: _PercentArgs) -> int:
    """The ``.precision`` / ``.*`` part; -1 when absent, negative ``*`` values become 0."""
    if cursor.char != ".":
        return -1
    precision = 0
    cursor.advance()
    if cursor.char == "*":
        precision = _star_argument(args)
        if precision < -(2**31):
            raise OverflowError("Python int too large to convert to C int")
        precision = max(precision, 0)
        if precision > MAX_WIDTH:
            raise _too_wide("precision")
        cursor.advance()
    elif "0" <= cursor.char <= "9":
        precision = _read_percent_number(cursor, "precision")
    return precision


def _wrong_number_type(kind: str, value: object) -> TypeError:
    """CPython's message when %d/%x... get something that is not a number."""
    needed = "an integer" if kind in "oxX" else "a real number"
    return TypeError(f"%{kind} format: {needed} is required, not {type_name(value)}")


def _percent_integer(kind: str, value: object) -> object:
    """The plain value %d/%i/%u/%o/%x/%X formats: plain values pass (Python's % checks
    them); a tensor goes through ``int()`` (d, i, u) or ``__index__`` (o, x, X) as CPython
    does; anything else is CPython's TypeError."""
    if type(value) in _PLAIN_TYPES:
        return value
    if not isinstance(value, torch.Tensor):
        raise _wrong_number_type(kind, value)
    try:
        return operator.index(value.detach()) if kind in "oxX" else int(value.detach())
    except TypeError:
        raise _wrong_number_type(kind, value) from None


def _percent_float(value: object) -> object:
    """The plain value %e/%f/%g format: a tensor through ``float()`` like CPython."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, torch.Tensor):
        return float(value.detach())
    raise TypeError(f"must be real number, not {type_name(value)}")


def _percent_char(value: object) -> object:
    """The plain value %c formats: a tensor through ``__index__`` like CPython."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, torch.Tensor):
        try:
            return operator.index(value.detach())
        except TypeError:
            raise TypeError("%c requires int or char") from None
    raise TypeError("%c requires int or char")


def _percent_piece(spec: _PercentSpec, value: object, position: int, max_chars: int) -> str:
    """Format one argument: the value is reduced to a plain one, then Python's own ``%``
    is applied to it with a spec rebuilt from the validated, bounded parts."""
    kind = spec.kind
    if kind in "sra":
        plain: object = _convert(value, kind, max_chars)
        kind = "s"
    elif kind in "diuoxX":
        plain = _percent_integer(kind, value)
    elif kind in "eEfFgG":
        plain = _percent_float(value)
    elif kind == "c":
        plain = _percent_char(value)
    else:
        code = ord(kind)
        shown = kind if 31 <= code <= 126 else "?"
        raise ValueError(
            f"unsupported format character '{shown}' (0x{code:x}) at index {position}")
    rebuilt = "%" + spec.flags
    rebuilt += str(spec.width) if spec.width >= 0 else ""
    rebuilt += f".{spec.precision}" if spec.precision >= 0 else ""
    return (rebuilt + kind) % (plain,)


def percent_format(template: str, args: object, *, max_chars: int = MAX_CHARS) -> str:
    """Python's ``template % args`` for a str template, with CPython's errors.

    The template is parsed here (flags ``#0- +``, width or ``*``, ``.precision`` or
    ``.*``, ``h``/``l``/``L`` ignored, ``%(key)`` with a dict); widths and precisions above
    MAX_WIDTH raise FormatLimit before anything is formatted.
    """
    if type(template) is not str:
        raise TypeError(f"the template must be a str, not {type_name(template)}")
    cursor = _PercentArgs.of(args)
    out = _TextBuilder(max_chars)
    pos = 0
    while pos < len(template):
        if template[pos] != "%":
            stop = template.find("%", pos)
            stop = len(template) if stop < 0 else stop
            out.add(template[pos:stop])
            pos = stop
            continue
        pos += 1
        if pos < len(template) and template[pos] == "%":
            out.add("%")
            pos += 1
            continue
        spec = _parse_percent_spec(template, pos, cursor)
        value = cursor.next()
        out.add(_percent_piece(spec, value, spec.end - 1, out.room))
        if cursor.mapping is not None and cursor.argidx < cursor.arglen:
            raise TypeError("not all arguments converted during string formatting")
        pos = spec.end
    if cursor.argidx < cursor.arglen and cursor.mapping is None:
        raise TypeError("not all arguments converted during string formatting")
    return out.text()


# --------------------------------------------------------------------------- str.format


@dataclass
class _Numbering:
    """CPython's auto/manual field numbering state, shared with nested spec fields."""

    state: str = "init"  # "init", "auto" or "manual"
    next_index: int = 0

    def index_for(self, name: str, numeric: int) -> int:
        """The positional index for ``name`` ('' = automatic), with CPython's errors for
        mixing ``{}`` and ``{0}``; -1 for a keyword name."""
        empty = name == ""
        if not empty and numeric < 0:
            return -1
        if self.state == "init":
            self.state = "auto" if empty else "manual"
        if self.state == "manual" and empty:
            raise ValueError(
                "cannot switch from manual field specification to automatic field numbering")
        if self.state == "auto" and not empty:
            raise ValueError(
                "cannot switch from automatic field numbering to manual field specification")
        if empty:
            self.next_index += 1
            return self.next_index - 1
        return numeric


def _field_number(name: str) -> int:
    """CPython's get_integer: the index a field name spells (any script's decimal digits),
    -1 if it is not all digits, ValueError past sys.maxsize (checked digit by digit)."""
    if not name:
        return -1
    number = 0
    for char in name:
        if not char.isdecimal():
            return -1
        digit = unicodedata.decimal(char)
        if number > (sys.maxsize - digit) // 10:
            raise ValueError("Too many decimal digits in format string")
        number = number * 10 + digit
    return number


def _field_value(name: str, args: list[object], kwargs: dict[str, object],
                 numbering: _Numbering) -> object:
    """The argument a field names; attribute and index walking are refused outright."""
    if "." in name or "[" in name:
        raise FormatRefused(_FIELD_REFUSAL)
    index = numbering.index_for(name, _field_number(name))
    if index < 0:
        if name not in kwargs:
            raise KeyError(name)
        return kwargs[name]
    if index >= len(args):
        raise IndexError(f"Replacement index {index} out of range for positional args tuple")
    return args[index]


def _build_string(template: str, args: list[object], kwargs: dict[str, object],
                  numbering: _Numbering, depth: int, max_chars: int) -> str:
    """CPython's build_string: literal text and fields in order; a spec containing '{' is
    itself expanded once (depth 2 at the top, as Python allows one level of nesting)."""
    if depth <= 0:
        raise ValueError("Max string recursion exceeded")
    out = _TextBuilder(max_chars)
    for literal, name, spec, conversion in _FIELD_PARSER.parse(template):
        out.add(literal)
        if name is None:
            continue
        value = _field_value(name, args, kwargs, numbering)
        if conversion is not None:
            value = _convert(value, conversion, out.room)
        if "{" in spec:
            spec = _build_string(spec, args, kwargs, numbering, depth - 1, max_chars)
        out.add(format_field(value, spec, max_chars=out.room))
    return out.text()


def str_format(template: str, args: list[object], kwargs: dict[str, object], *,
               max_chars: int = MAX_CHARS) -> str:
    """Python's ``template.format(*args, **kwargs)``: ``{}``, ``{0}``, ``{name}``,
    ``!s/!r/!a``, specs with one level of nested ``{...}`` fields, ``{{`` and ``}}``.

    Fields that walk into an argument (``{0.attr}``, ``{0[i]}``) raise FormatRefused;
    widths and precisions above MAX_WIDTH raise FormatLimit before formatting.
    """
    if type(template) is not str:
        raise TypeError(f"the template must be a str, not {type_name(template)}")
    return _build_string(template, list(args), dict(kwargs), _Numbering(), 2, max_chars)
