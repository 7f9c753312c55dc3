"""The README's language table, written from the tables themselves.

``python -m engine.language.document`` prints the Markdown; tests/test_readme.py checks
the README holds exactly this text, so the documentation cannot drift from what the
checker accepts.
"""

from __future__ import annotations

from engine.language import tables as L
from engine.language.values import ContextValue, GradFnView


def _names(names: object, prefix: str = "") -> str:
    return ", ".join(f"`{prefix}{n}`" for n in sorted(names))  # type: ignore[call-overload]


def _module(table: dict[str, L.Function]) -> str:
    return _names(table)


def language_table() -> str:
    """The Markdown rows of "what a program may use", one kind per row."""
    enumerations = "; ".join(f"`{k}=` {'/'.join(sorted(v))}"
                             for k, v in sorted(L.STRING_KEYWORDS.items()))
    rows = [
        ("Statements", "assignment (`a = b = expr`, unpacking `a, *rest = items`, "
                       "`x.grad = None`, `p.data = ...`, `x.requires_grad = True`, "
                       "`self.fc1 = nn.Linear(3, 4)`, "
                       "`x[mask] = 0`, `d[key] = v`), augmented assignment (`+=` and every "
                       "other operator; in place, as in Python), expression lines (shown "
                       "like a notebook's `Out`), `if`/`elif`/`else`, `for` (with `else`), "
                       "`while`, `break`, `continue`, `try`/`except Type as e`/`else`/"
                       "`finally`, `raise`, `assert`, `del`, `with` a grad mode, `def` "
                       "(defaults, `*args`, `**kwargs`, keyword-only, nested, recursion "
                       "within the depth limit, decorators below), `return`, `global`, "
                       "`nonlocal`, `pass`, `import` of the modules below"),
        ("Expressions", "numbers (up to ±1e15), text, `True`/`False`/`None`, tuples, "
                        "lists, dicts, sets, list/set/dict comprehensions and generator "
                        "expressions, f-strings (conversions, format specs, `{x=}`), "
                        "`%` formatting, `str.format`, every arithmetic and bitwise "
                        "operator but shifts, `and`/`or`/`not`, chained comparisons, "
                        "`is`/`is not`, `in`/`not in`, `a if c else b`, `lambda`, "
                        "`:=`, indexing and slicing, `*args`/`**kwargs` in calls"),
        ("Grad modes (`with` and decorators)",
         _names(L.GRAD_MODES) + ", " + _names(L.CONTEXT_CALLS)),
        ("Python builtins", _names(L.BUILTIN_NAMES)),
        ("Exceptions (caught, raised, isinstance)", _names(L.EXCEPTIONS)),
        ("Imports (bind fixed names)", "`import torch`, `import math`, `import "
         "torch.nn.functional as F`, and any of " + _names(L.MODULE_ALIASES)
         + " under any name, or one of their functions (`from torch.autograd import "
           "grad`)"),
        ("Bare functions", _names(L.BARE_FUNCTIONS) + " (numbers become tensors: "
                                                      "`sin(2.0)` works)"),
        ("`torch.`", _module(L.TORCH_FUNCTIONS)),
        ("`torch.autograd.`", _module(L.AUTOGRAD_FUNCTIONS)),
        ("`torch.autograd.functional.`", _module(L.FUNCTIONAL_FUNCTIONS)),
        ("`torch.func.`", _module({**L.FUNC_TRANSFORMS, **L.FUNC_CALLS})),
        ("`torch.cuda.`", _module(L.CUDA_FUNCTIONS) + " (there is no GPU: False, 0)"),
        ("`functools.`", _module(L.FUNCTOOLS_FUNCTIONS)),
        ("`F.` / `torch.nn.functional.`", _module(L.F_FUNCTIONS)),
        ("`torch.nn.` (layers initialised from the run's seed, as plain torch does)",
         _module(L.NN_FUNCTIONS)),
        ("`torch.nn.init.`", _module(L.NN_INIT_FUNCTIONS)),
        ("`torch.optim.`", _module(L.OPTIMIZER_FUNCTIONS) + " with "
         + "; ".join(f"{k}: {_names(v)}" for k, v in L.OPTIMIZER_OPTIONS.items())
         + "; `.step()`, `.zero_grad(set_to_none=...)`, `.param_groups` (numbers "
           "changeable by key)"),
        ("`torch.optim.lr_scheduler.`", _module(L.SCHEDULER_FUNCTIONS)
         + " with `.step()`, `.get_last_lr()`"),
        ("Classes", "`class Net(nn.Module)` (`__init__` with `super().__init__()`, "
         "`forward`, helper methods, `@staticmethod`), `class F(torch.autograd.Function)` "
         "(`forward(ctx, ...)`/`setup_context`, `backward(ctx, grad)`, `F.apply`), plain "
         "classes and one program class as parent; no other `__dunder__` methods, no class "
         "attributes, metaclasses or decorators"),
        ("Modules", "called as `model(x)`; " + _names(L.MODULE_METHODS, ".")
         + "; attributes " + _names(L.MODULE_ATTRIBUTES) + ", parameters and submodules "
           "by name; no hooks, `load_state_dict`, `torch.save`/`load`"),
        ("`ctx` of a custom Function", _names(ContextValue.methods, ".") + ", "
         + _names(ContextValue.attributes, ".") + ", the program's own attributes"),
        ("`math.`", _module(L.MATH_FUNCTIONS)),
        ("Constants", _names(L.CONSTANTS)),
        ("Tensor methods", _names(L.TENSOR_METHODS)),
        ("Tensor attributes", _names(L.TENSOR_ATTRIBUTES) + "; assignable: "
         + _names(L.TENSOR_SETTABLE)),
        ("`grad_fn`", "printed as torch prints it; " + _names(GradFnView.methods, ".")
         + " (called), `.next_functions`, `.variable` (of `AccumulateGrad`), the saved "
           "values `._saved_self`, `._saved_result`, ..."),
        ("Methods of lists, dicts, sets, text", "list " + _names(L.LIST_METHODS)
         + "; dict " + _names(L.DICT_METHODS) + "; set " + _names(L.SET_METHODS)
         + "; text " + _names(L.STR_METHODS)),
        ("Keyword arguments of torch's functions", _names(L.KEYWORDS) + "; text only "
         "from these choices: " + enumerations),
    ]
    lines = ["| what | allowed |", "|---|---|"]
    lines += [f"| {what} | {allowed} |" for what, allowed in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(language_table(), end="")
