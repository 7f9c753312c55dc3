"""Each construct of the language does what it does in Python: the same program runs in
plain Python + torch (a fresh namespace) and through run_program, and prints the same
text, leaves the same ``.grad`` on every leaf, and shows the same last value.

The reference is Python itself; nothing here compares the engine with its own output.
"""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch
import torch.nn.functional as F

from engine import run_program

PROGRAMS: dict[str, str] = {
    # control flow
    "for-range": "s = 0\nfor i in range(5):\n    s += i\nprint(s)\n",
    "for-else-break": "for i in range(5):\n    if i == 3:\n        break\nelse:\n    print('no')\n"
                      "print(i)\n",
    "for-continue": "out = []\nfor i in range(6):\n    if i % 2:\n        continue\n"
                    "    out.append(i)\nprint(out)\n",
    "for-tensor": "x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\ntotal = 0\n"
                  "for v in x:\n    total = total + v ** 2\ntotal.backward()\nprint(total)\n",
    "for-zip-enumerate": "a = [1, 2, 3]\nb = [4.0, 5.0, 6.0]\nfor i, (p, q) in "
                         "enumerate(zip(a, b)):\n    print(i, p * q)\n",
    "for-reversed-dict": "d = {'a': 1, 'b': 2}\nfor k in reversed(list(d)):\n    "
                         "print(k, d[k])\nfor k, v in d.items():\n    print(k, v)\n",
    "while": "n = 0\nx = torch.tensor(1.0, requires_grad=True)\ny = x\nwhile n < 4:\n"
             "    y = y * 1.5\n    n += 1\ny.backward()\nprint(n, y)\n",
    "if-elif-else": "for v in [-2, 0, 3]:\n    if v < 0:\n        print('neg')\n"
                    "    elif v == 0:\n        print('zero')\n    else:\n        print('pos')\n",
    "bool-ops": "a = 0 or 5\nb = 3 and 0\nc = not []\nprint(a, b, c, 1 < 2 < 3, 3 < 2 < 5)\n",
    "is-none": "x = torch.tensor(1.0, requires_grad=True)\nprint(x.grad is None)\n"
               "(x * 2).backward()\nprint(x.grad is not None, x.grad)\n",
    "if-expression": "x = torch.tensor(-1.5, requires_grad=True)\n"
                     "y = x * 2 if x.item() > 0 else -x\ny.backward()\nprint(y)\n",
    # exceptions
    "try-except-as": "try:\n    t = torch.ones(2) @ torch.ones(3)\nexcept RuntimeError as e:\n"
                     "    print('caught:', e)\n",
    "try-else-finally": "try:\n    v = 1\nexcept ValueError:\n    print('no')\nelse:\n"
                        "    print('else', v)\nfinally:\n    print('finally')\n",
    "raise-catch": "def check(v):\n    if v < 0:\n        raise ValueError(f'negative: {v}')\n"
                   "    return v\ntry:\n    check(-2)\nexcept ValueError as e:\n    print(e)\n",
    "except-tuple": "try:\n    [1][5]\nexcept (KeyError, IndexError) as e:\n"
                    "    print(type(e), e)\n",
    "assert-caught": "try:\n    assert 1 > 2, 'one is not more'\nexcept AssertionError as e:\n"
                     "    print('assert:', e)\n",
    "zero-division": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    print(e)\n",
    # values
    "tuples": "N, D = 3, 4\nfirst, *rest = [1, 2, 3, 4]\nprint(N, D, first, rest)\n"
              "def two():\n    return 1, 2\na, b = two()\nprint(a + b, (a, b))\n",
    "lists": "xs = [3, 1, 2]\nxs.append(5)\nxs.sort()\nprint(xs, len(xs), xs[-1], xs[1:3], "
             "sum(xs), min(xs), max(xs), sorted(xs, reverse=True))\n",
    "dicts": "d = {'w': 1.0}\nd['b'] = 2\nprint(d, d.get('z', 0), list(d.keys()), "
             "{k: v * 2 for k, v in d.items()})\n",
    "comprehensions": "sq = [i * i for i in range(5) if i % 2 == 0]\n"
                      "nested = [[i * j for j in range(3)] for i in range(2)]\n"
                      "s = {i % 3 for i in range(10)}\nprint(sq, nested, s, "
                      "sum(i for i in range(4)))\n",
    "builtins": "print(abs(-2), round(2.567, 2), int('7'), float(3), str(4) + 'x', "
                "bool(0), any([0, 1]), all([1, 1]), divmod(7, 2), pow(2, 5), "
                "isinstance(3, int), isinstance(2.0, (int, float)), list(map(lambda v: v + 1, "
                "[1, 2])), list(filter(None, [0, 1, 2])))\n",
    "isinstance-tensor": "x = torch.ones(2)\nprint(isinstance(x, torch.Tensor), "
                         "isinstance(x, list), type(x))\n",
    # text
    "f-strings": "x = torch.tensor(2.0, requires_grad=True)\ny = x ** 3\ny.backward()\n"
                 "lr = 0.01\nprint(f'{x.grad:.4f} {lr=} {y.item():>10.3e} {\"a\"!r} {x}')\n",
    "percent": "loss = torch.tensor(0.123456)\nprint('Epoch: %03d | loss %.5f | %s' % "
               "(7, loss, 'ok'))\n",
    "str-format": "print('{} + {:.2f} = {total}'.format(1, 2.5, total=3.5))\n",
    "string-ops": "s = 'grad' + '_' + 'fn'\nprint(s.upper(), s.split('_'), '-'.join(['a', 'b']), "
                  "s * 2, len(s))\n",
    # functions
    "def-defaults-kwargs": "def f(x, power=2, *, scale=1.0):\n    return scale * x ** power\n"
                           "print(f(3), f(3, 3), f(2, scale=0.5), f(power=1, x=4))\n",
    "def-varargs": "def total(*values, **named):\n    return sum(values) + sum(named.values())\n"
                   "print(total(1, 2, 3, a=4))\n",
    "nested-def-closure": "def make(k):\n    def mul(v):\n        return k * v\n    return mul\n"
                          "triple = make(3)\nprint(triple(4))\n",
    "lambda": "f = lambda a, b=2: a * b\nprint(f(3), f(3, b=4), sorted([3, 1, 2], "
              "key=lambda v: -v))\n",
    "recursion": "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nprint(fact(10))\n",
    "decorator-no-grad": "@torch.no_grad()\ndef update(w):\n    return w * 2\n"
                         "w = torch.tensor(1.0, requires_grad=True)\n"
                         "print(update(w).requires_grad)\n",
    "global": "count = 0\ndef bump():\n    global count\n    count += 1\nbump()\nbump()\n"
              "print(count)\n",
    # attributes and items
    "data-update": "w = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                   "for step in range(3):\n    loss = (w ** 2).sum()\n    loss.backward()\n"
                   "    w.data -= 0.1 * w.grad.data\n    w.grad.data.zero_()\nprint(w, w.grad)\n",
    "grad-none": "w = torch.tensor(3.0, requires_grad=True)\n(w * w).backward()\n"
                 "print(w.grad)\nw.grad = None\nprint(w.grad)\n",
    "requires-grad-assign": "x = torch.tensor([1.0, 2.0])\nx.requires_grad = True\n"
                            "(x * 3).sum().backward()\nprint(x.grad, x.is_leaf)\n",
    "mask-assign": "x = torch.tensor([1.0, -2.0, 3.0, -4.0])\nx[x < 0] = 0\nx[0] = 9\n"
                   "print(x)\n",
    "mask-assign-graph": "a = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)\n"
                         "y = a * 2\ny[y < 0] = 0\ny.sum().backward()\nprint(a.grad)\n",
    "grad-fn-views": "x = torch.tensor(2.0, requires_grad=True)\ny = x * 3 + 1\n"
                     "print(y.grad_fn.name())\nfn, idx = y.grad_fn.next_functions[0]\n"
                     "print(fn.name(), idx)\nleaf = fn.next_functions[0][0]\n"
                     "print(leaf.name(), leaf.variable is x)\nz = x ** 2\n"
                     "print(z.grad_fn._saved_self, z.grad_fn._saved_exponent)\n",
    # autograd's API
    "autograd-grad": "x = torch.tensor([1.0, 2.0], requires_grad=True)\ny = (x ** 3).sum()\n"
                     "(g,) = torch.autograd.grad(y, x, create_graph=True)\n"
                     "(h,) = torch.autograd.grad(g.sum(), x)\nprint(g, h)\n",
    "functional": "from torch.autograd.functional import jacobian, hessian, vjp\n"
                  "def f(v):\n    return v ** 2 + v.sum()\nx = torch.tensor([1.0, 2.0])\n"
                  "print(jacobian(f, x))\nprint(hessian(lambda v: (v ** 3).sum(), x))\n"
                  "print(vjp(f, x, torch.ones(2)))\n",
    "torch-func": "from torch.func import grad, vmap, jacrev\nf = lambda v: torch.sin(v) * v\n"
                  "print(grad(f)(torch.tensor(1.0)))\n"
                  "print(vmap(grad(f))(torch.tensor([0.0, 1.0, 2.0])))\n"
                  "print(jacrev(lambda v: v ** 2)(torch.tensor([1.0, 3.0])))\n",
    "hooks": "x = torch.tensor(2.0, requires_grad=True)\ny = x * 3\nseen = []\n"
             "h = y.register_hook(lambda g: seen.append(g) or g * 10)\ny.backward()\n"
             "h.remove()\nprint(x.grad, seen)\n",
    "set-grad-enabled": "x = torch.tensor(1.0, requires_grad=True)\n"
                        "with torch.set_grad_enabled(False):\n    y = x * 2\n"
                        "print(y.requires_grad, torch.is_grad_enabled())\n"
                        "with torch.inference_mode():\n    z = x * 2\nprint(z.requires_grad)\n",
    "forward-ad": "import torch.autograd.forward_ad as fwAD\nprimal = torch.randn(3)\n"
                  "tangent = torch.randn(3)\nwith fwAD.dual_level():\n"
                  "    d = fwAD.make_dual(primal, tangent)\n    out = torch.sin(d) * d\n"
                  "    jvp = fwAD.unpack_dual(out).tangent\nprint(jvp)\n",
    "named-results": "m = torch.max(torch.tensor([[1.0, 3.0], [4.0, 2.0]]), dim=1)\n"
                     "print(m.values, m.indices, m)\n",
    "import-then-variable": "from torch.autograd import grad\n"
                            "x = torch.tensor(2.0, requires_grad=True)\n(x * x).backward()\n"
                            "grad = x.grad\nprint(grad)\n",
    "import-alias": "from torch.autograd import grad as dydx\n"
                    "x = torch.tensor(2.0, requires_grad=True)\nprint(dydx(x ** 3, x))\n",
    # old spellings
    "legacy": "a = torch.Tensor([1, 2])\nb = torch.FloatTensor([3.0])\n"
              "v = torch.autograd.Variable(torch.ones(2), requires_grad=True)\n"
              "(v * a).sum().backward()\nprint(a, b, v.grad, a.double().dtype, "
              "a.to('cpu'), a.cpu(), torch.cuda.is_available(), a.tolist(), "
              "a.equal(torch.tensor([1.0, 2.0])), torch.device('cpu'))\n",
    "generator": "g = torch.Generator().manual_seed(0)\nprint(torch.randn(3, generator=g))\n",
    "one-hot": "print(F.one_hot(torch.tensor([0, 2]), num_classes=3))\n",
    "training-loop": "torch.manual_seed(0)\nX = torch.randn(8, 2)\nY = X @ torch.tensor([2.0, "
                     "-1.0]) + 0.5\nw = torch.zeros(2, requires_grad=True)\n"
                     "b = torch.zeros(1, requires_grad=True)\nfor epoch in range(30):\n"
                     "    loss = ((X @ w + b - Y) ** 2).mean()\n    loss.backward()\n"
                     "    with torch.no_grad():\n        w -= 0.1 * w.grad\n"
                     "        b -= 0.1 * b.grad\n        w.grad.zero_()\n        b.grad.zero_()\n"
                     "    if epoch % 10 == 0:\n        print(f'epoch {epoch}: {loss.item():.6f}')\n"
                     "print(w, b)\n",
}


def plain(source: str) -> tuple[str, dict]:
    """The program in plain Python + torch, in a fresh namespace (seeded as the engine's
    run is), and what it printed."""
    namespace = {"torch": torch, "math": math, "F": F}
    out = io.StringIO()
    with torch.random.fork_rng(), contextlib.redirect_stdout(out):
        torch.manual_seed(0)
        exec(compile(source, "<plain>", "exec"), namespace)
    return out.getvalue(), namespace


@pytest.mark.parametrize("name", PROGRAMS)
def test_construct_runs_as_in_python(name: str):
    source = PROGRAMS[name]
    printed, namespace = plain(source)
    r = run_program(source, isolate=False, auto_backward=False)
    assert r.error is None, f"{name}: {r.error}"
    assert r.printed == printed, name
    for key, value in namespace.items():
        if isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad:
            engine_grad = r.grads.get(key)
            if value.grad is None:
                assert engine_grad is None, key
            else:
                assert engine_grad is not None and torch.equal(engine_grad, value.grad), key


def test_uncaught_error_names_python_type_and_line():
    r = run_program("def f(v):\n    raise ValueError('bad value')\nf(1)\n", isolate=False)
    assert r.error is not None and r.error.kind == "runtime"
    assert r.error.line == 2 and "ValueError: bad value" in r.error.message


def test_name_assigned_only_in_a_branch_that_did_not_run():
    r = run_program("if 1 > 2:\n    y = 3\nprint(y)\n", isolate=False)
    assert r.error is not None and r.error.line == 3
    assert "`y` has no value here" in r.error.message


def test_a_loop_body_is_not_echoed_like_a_cell():
    """Only a cell's own expression lines are displayed, as in a notebook."""
    r = run_program("x = torch.tensor(1.0)\nfor i in range(3):\n    x * i\nx\n", isolate=False)
    assert [e["code"] for e in r.echoes] == ["x"]


def test_output_made_in_a_loop_is_its_last_value():
    r = run_program("x = torch.tensor(2.0, requires_grad=True)\ny = x\nfor i in range(3):\n"
                    "    y = y * x\n", isolate=False)
    assert r.error is None and r.output_name == "y"
    assert r.grads["x"].item() == pytest.approx(4 * 2.0 ** 3)  # d(x^4)/dx


def test_curve_through_a_loop_matches_finite_differences():
    from engine import derivative_curve

    source = "y = x\nfor i in range(3):\n    y = y * x + 1\n"
    xs, ys, dys = derivative_curve(source, {"x": 0.5}, "x", -1.0, 1.0, 11, isolate=False)

    def f(v: float) -> float:
        y = v
        for _ in range(3):
            y = y * v + 1
        return y
    for v, y, dy in zip(xs, ys, dys):
        assert y == pytest.approx(f(v), rel=1e-5)
        assert dy == pytest.approx((f(v + 1e-6) - f(v - 1e-6)) / 2e-6, rel=1e-3, abs=1e-4)


TABLE_FUNCTIONS_AS_VALUES = [
    "import torch\nx = torch.tensor([0.5, 1.0], requires_grad=True)\nf = torch.sin\n"
    "y = f(x).sum()\ny.backward()\nprint(y, x.grad)\n",
    "import torch\nimport torch.nn.functional as F\nloss_func = F.mse_loss\n"
    "x = torch.tensor([0.5, 1.0], requires_grad=True)\nprint(loss_func(x, torch.ones(2)))\n",
    "import torch\nx = torch.tensor([0.5, 1.0])\n"
    "print(torch.autograd.functional.jacobian(torch.sin, x))\n"
    "print(torch.func.vmap(torch.func.grad(torch.sin))(x))\n",
    "import torch\nx = torch.tensor([0.5, 1.0], requires_grad=True)\n"
    "h = x.register_hook(torch.neg)\n(x * 3).sum().backward()\nprint(x.grad)\n",
]


@pytest.mark.parametrize("source", TABLE_FUNCTIONS_AS_VALUES)
def test_a_function_of_the_tables_is_a_value_as_in_python(source: str):
    """``loss_func = F.mse_loss``, ``vmap(torch.sin)``, a hook that is torch.neg: called
    through the interpreter, with plain torch's results."""
    from tests.test_nn import assert_same

    assert_same(source)
