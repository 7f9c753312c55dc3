# source: after karpathy/micrograd micrograd/engine.py (the Value class)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
class Value:
    def __init__(self, data, children=(), op=''):
        self.data = data
        self.grad = 0
        self.backward_step = lambda: None
        self.prev = set(children)
        self.op = op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def backward_step():
            self.grad += out.grad
            other.grad += out.grad
        out.backward_step = backward_step
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        def backward_step():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out.backward_step = backward_step
        return out

    def backward(self):
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v.prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v.backward_step()

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"


a = Value(2.0)
b = Value(-3.0)
c = a * b + a
c.backward()
print(a, b, c)
