# source: after deep-learning-with-pytorch/dlwpt-code p1ch5/3_optimizers.ipynb (training, validation and overfitting)
# edits: written for this corpus with the source's constructs, not copied (public tutorial code stays out of this repository)
import torch

t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0])
t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4])

n_samples = t_u.shape[0]
n_val = int(0.2 * n_samples)
shuffled_indices = torch.randperm(n_samples)
train_indices = shuffled_indices[:-n_val]
val_indices = shuffled_indices[-n_val:]

train_t_un = 0.1 * t_u[train_indices]
train_t_c = t_c[train_indices]
val_t_un = 0.1 * t_u[val_indices]
val_t_c = t_c[val_indices]

def model(t_u, w, b):
    return w * t_u + b

def loss_fn(t_p, t_c):
    return ((t_p - t_c)**2).mean()

params = torch.tensor([1.0, 0.0], requires_grad=True)
learning_rate = 1e-2
for epoch in range(1, 151):
    train_loss = loss_fn(model(train_t_un, *params), train_t_c)
    with torch.no_grad():
        val_loss = loss_fn(model(val_t_un, *params), val_t_c)
        assert val_loss.requires_grad == False
    params.grad = None
    train_loss.backward()
    with torch.no_grad():
        params -= learning_rate * params.grad
    if epoch <= 3 or epoch % 50 == 0:
        print(f"Epoch {epoch}, Training loss {train_loss.item():.4f},"
              f" Validation loss {val_loss.item():.4f}")
