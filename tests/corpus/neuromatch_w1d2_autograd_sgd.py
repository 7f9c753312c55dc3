# source: after deeplearning.neuromatch.io/tutorials/W1D2_LinearDeepLearning/student/W1D2_Tutorial1.html (Gradient Descent and AutoGrad)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

N, D = 16, 4
x = torch.randn(N, D)
y = torch.randn(N, 1)
w = torch.randn(D, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)

learning_rate = 1e-2
for t in range(30):
    scores = x.mm(w) + b
    loss = ((scores - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if t % 10 == 0:
        print('Iteration %d, loss = %.4f' % (t, loss.item()))
