"""torch.utils.data in a program: ``TensorDataset``, the program's own ``Dataset``
subclasses (``__len__`` and ``__getitem__``, the protocol torch's API asks for), and
``DataLoader``.

A DataLoader is iterated here the way torch's single-process loader does it, drawing from
the run's generator what torch draws from the global one: a base seed when each pass
starts, and, when shuffling, the seed of the permutation on the first batch; batches are
stacked as ``default_collate`` stacks them (tensors with ``torch.stack``, Python numbers
into a tensor, tuples position by position, as a list). So ``torch.manual_seed(123)``
gives the batches plain torch gives.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import torch

from engine.language.values import DataLoaderValue, InstanceValue, TensorDatasetValue

LOADER_OPTIONS = frozenset({"batch_size", "shuffle", "drop_last", "num_workers"})


def is_dataset(value: Any) -> bool:
    """A TensorDataset, or an object of the program's Dataset subclass."""
    return isinstance(value, TensorDatasetValue) or (
        isinstance(value, InstanceValue) and value.cls.root == "dataset")


class Data:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def make_tensor_dataset(self, node: ast.Call, args: list[Any],
                            kwargs: dict[str, Any]) -> TensorDatasetValue:
        self.tick(node)
        if kwargs or not args or not all(isinstance(a, torch.Tensor) for a in args):
            raise self.python_error(TypeError("TensorDataset takes tensors"), node)
        if any(a.dim() == 0 or a.shape[0] != args[0].shape[0] for a in args):
            raise self.python_error(AssertionError("Size mismatch between tensors"), node)
        return TensorDatasetValue(tuple(args))

    def make_data_loader(self, node: ast.Call, args: list[Any],
                         kwargs: dict[str, Any]) -> DataLoaderValue:
        self.tick(node)
        dataset = args[0] if args else kwargs.pop("dataset", None)
        options = dict(zip(("batch_size", "shuffle"), args[1:]))
        for key, value in kwargs.items():
            if key not in LOADER_OPTIONS:
                raise self.python_error(TypeError(
                    f"DataLoader() got an unexpected keyword argument '{key}'"), node,
                    f"DataLoader takes {', '.join(sorted(LOADER_OPTIONS))} here.")
            options[key] = value
        if options.get("num_workers", 0) != 0:
            raise self.python_error(ValueError("num_workers must be 0 here"), node,
                                    "Programs here load their data in one process: "
                                    "leave num_workers out (or write 0).")
        if not is_dataset(dataset):
            raise self.python_error(TypeError(
                f"DataLoader takes a dataset, not {self.kind_words(dataset)}"), node)
        batch_size = options.get("batch_size", 1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise self.python_error(ValueError(
                "batch_size should be a positive integer value, but got "
                f"batch_size={batch_size}"), node)
        return DataLoaderValue(dataset, batch_size,
                               self.truth(options.get("shuffle", False), node),
                               self.truth(options.get("drop_last", False), node))

    # -- a dataset's length and items -------------------------------------------------------
    def dataset_length(self, node: ast.AST, dataset: Any) -> int:
        if isinstance(dataset, TensorDatasetValue):
            return int(dataset.tensors[0].shape[0])
        length = self.protocol_call(node, dataset, "__len__", [])
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise self.python_error(TypeError(
                "__len__() should return a whole number >= 0"), node)
        return length

    def dataset_item(self, node: ast.AST, dataset: Any, index: Any) -> Any:
        if isinstance(dataset, TensorDatasetValue):
            return tuple(self.item_of(node, t, index) for t in dataset.tensors)
        return self.protocol_call(node, dataset, "__getitem__", [index])

    def protocol_call(self, node: ast.AST, obj: InstanceValue, name: str,
                      args: list[Any]) -> Any:
        """``len(ds)`` and ``ds[i]`` of the program's Dataset: its own method."""
        found = obj.cls.lookup(name)
        if found is None:
            raise self.python_error(TypeError(
                f"'{obj.cls.name}' object has no {name}"), node,
                f"A Dataset here defines {name} (len(ds) and ds[i] call it).")
        return self.call_method(node, obj, found[0], found[1], args, {})

    # -- a DataLoader's batches ------------------------------------------------------------
    def loader_length(self, node: ast.AST, loader: DataLoaderValue) -> int:
        n = self.dataset_length(node, loader.dataset)
        return n // loader.batch_size if loader.drop_last else -(-n // loader.batch_size)

    def loader_batches(self, node: ast.AST, loader: DataLoaderValue) -> Iterator[Any]:
        """One pass over the data, as torch's single-process loader makes it."""
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)  # base seed
        return self._batches(node, loader)

    def _batches(self, node: ast.AST, loader: DataLoaderValue) -> Iterator[Any]:
        n = self.dataset_length(node, loader.dataset)
        self.check_numel(node, n)  # the order of n items is a tensor (or list) of n numbers
        order: Any
        if loader.shuffle:
            seed = int(torch.empty((), dtype=torch.int64).random_(
                generator=self.generator).item())
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        else:
            order = range(n)
        for start in range(0, n, loader.batch_size):
            indices = order[start:start + loader.batch_size]
            if loader.drop_last and len(indices) < loader.batch_size:
                return
            self.tick(node)
            items = [self.dataset_item(node, loader.dataset, i) for i in indices]
            yield self.collate(node, items)

    def collate(self, node: ast.AST, items: list[Any]) -> Any:
        """torch's ``default_collate`` for what datasets here hold."""
        first = items[0]
        if isinstance(first, torch.Tensor):
            return self.produced(node, self.guarded(node, lambda: torch.stack(items)))
        if isinstance(first, bool) or not isinstance(first, (int, float, tuple, list, dict)):
            raise self.python_error(TypeError(
                f"default_collate: batch must contain tensors, numbers, dicts or lists; "
                f"found {self.kind_name(first)}"), node)
        if isinstance(first, float):
            return torch.tensor(items, dtype=torch.float64)
        if isinstance(first, int):
            return torch.tensor(items)
        if isinstance(first, dict):
            return {key: self.collate(node, [item[key] for item in items]) for key in first}
        if any(len(item) != len(first) for item in items):
            raise self.python_error(RuntimeError(
                "each element in list of batch should be of equal size"), node)
        return [self.collate(node, list(column)) for column in zip(*items)]
