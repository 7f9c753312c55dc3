"""``python -m bench [--quick]``: print the curve benchmark as a markdown table."""

from __future__ import annotations

import argparse
import platform

import torch

from bench import curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few points, one repeat")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, repeats = (201, 1) if args.quick else (2001, 7)
    rows = curves.run(n=n, repeats=repeats)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"torch {torch.__version__}, 1 thread\n")
    print("| function | points | derivative_curve ms | per-point loop ms | speed-up | "
          "bare batched ms | ours / bare |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['function']} | {r['n']} | {r['derivative_curve_ms']:.2f} | "
              f"{r['loop_ms']:.1f} | {r['speedup_vs_loop']:.0f}x | "
              f"{r['bare_batched_ms']:.2f} | {r['vs_bare']:.1f} |")


if __name__ == "__main__":
    main()
