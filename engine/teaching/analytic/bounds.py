"""The bounds of the derivative by hand (programs come from public share links).

Every sympy operation runs on bounded trees: the formula written out may have at most
:data:`MAX_WRITTEN` nodes (``x = x*x`` forty times is refused at its tenth, before sympy
folds it into x**(2**40)); sympy's own tree at most :data:`MAX_NODES` nodes and
:data:`MAX_DEPTH` levels before ``diff`` (``diff`` is recursive and quadratic in depth);
integer powers may not build numbers over :data:`MAX_BITS` bits. Curves cost (formula
size) x (points) array operations, bounded by ``Limits.max_curve_elements``. By default
all of it runs in a worker process (:func:`engine.analytic_derivative`), where a hard
deadline backs these bounds up.

The walk (walker.py) checks MAX_WRITTEN, MAX_NODES, MAX_DEPTH and MAX_ELEMENTS, the
builder ``_pow`` (rules.py) MAX_BITS, and ``_formula`` (__init__.py) the rest.
"""

MAX_WRITTEN = 2_000  # nodes of the formula written out, every variable substituted
MAX_NODES = 300  # nodes of sympy's tree (shared parts counted each time) before diff
MAX_DEPTH = 40  # levels of sympy's tree before diff (diff recurses ~10 frames a level)
MAX_BITS = 4_096  # exact numbers an integer power may build
MAX_ELEMENTS = 16  # elements of a list input or torch.tensor([...])
MAX_DERIVATIVE_WORK = 200_000  # distinct nodes and arguments of f and f' together
LATEX_MAX_NODES = 250  # longer formulas are not written out ("too long to show")
LATEX_MAX_CHARS = 700
