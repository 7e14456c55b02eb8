"""A scripted lab worker for the tests: writes experiment N as a small pure-Python ridge regression.

Usage (as a `--worker-cmd`): python scripted_worker.py {lab} {n} [--broken N ...] [--hopeless N ...]
[--tamper N] [--ledger N] [--garbage N] [--sleep S] [--log PATH]

- new mode: writes experiments/exp_NNN.py (lambda and features depend on N, so results differ
  deterministically) and prints leanlab's JSON reply.
- --broken N: experiment N crashes in the judge (predict on more than 20 rows) but passes
  validate; in fix mode the file is rewritten to work. --hopeless N: the fix does not help.
- --tamper N: before writing experiment N, edit the lab's evaluation.py.
- --ledger N: before writing experiment N, append a fake record to results.jsonl.
- --garbage N: reply with prose and no JSON for experiment N (and write nothing).
- --log PATH: append one JSON line per call ({"n", "mode", "file"}).
"""

import argparse
import json
import os
import time

TEMPLATE = '''"""Ridge regression, lambda={lam}, {features}."""
import math

LAM = {lam}
SIN = {sin}


def phi(x):
    row = [1.0, x[0], x[1], x[2]]
    if SIN:
        row.append(math.sin(2.0 * x[0]))
    return row


def solve(a, b):
    n = len(b)
    m = [list(a[i]) + [b[i]] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[c][c]:
                f = m[r][c] / m[c][c]
                m[r] = [vr - f * vc for vr, vc in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


class Ridge:
    def fit(self, xs, ys):
        rows = [phi(x) for x in xs]
        k = len(rows[0])
        ata = [[sum(r[i] * r[j] for r in rows) + (LAM if i == j and i > 0 else 0.0) for j in range(k)]
               for i in range(k)]
        aty = [sum(r[i] * y for r, y in zip(rows, ys)) for i in range(k)]
        self.w = solve(ata, aty)
        return self

    def predict(self, xs):
{guard}        return [sum(w * v for w, v in zip(self.w, phi(x))) for x in xs]


def build_model():
    return Ridge()
'''
GUARD = "        if len(xs) > 20:\n            raise RuntimeError('broken on purpose')\n"
LAMBDAS = (0.0, 3.0, 30.0, 0.3, 100.0)


def source(n, broken):
    lam = LAMBDAS[n % len(LAMBDAS)]
    sin = n % 2 == 0
    features = "linear + sin(2 x0)" if sin else "linear"
    return TEMPLATE.format(lam=lam, sin=sin, features=features, guard=GUARD if broken else "")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("lab")
    p.add_argument("n", type=int)
    p.add_argument("--broken", type=int, action="append", default=[])
    p.add_argument("--hopeless", type=int, action="append", default=[])
    p.add_argument("--tamper", type=int, default=None)
    p.add_argument("--ledger", type=int, default=None)
    p.add_argument("--garbage", type=int, default=None)
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--log", default=None)
    a = p.parse_args()
    mode = os.environ.get("ALPHAMINE_LAB_MODE", "new")
    target = os.environ.get("ALPHAMINE_LAB_FILE") or f"experiments/exp_{a.n:03d}.py"
    if a.log:
        with open(a.log, "a") as log:
            log.write(json.dumps({"n": a.n, "mode": mode, "file": target}) + "\n")
    time.sleep(a.sleep)
    if mode == "fix":
        with open(os.path.join(a.lab, target), "w") as handle:
            handle.write(source(a.n, a.n in a.hopeless))
        print(json.dumps({"experiment_file": target, "valid": True, "notes": "fixed"}))
        return
    if a.n == a.tamper:
        with open(os.path.join(a.lab, "evaluation.py"), "a") as handle:
            handle.write("# a worker was here\n")
    if a.n == a.ledger:
        with open(os.path.join(a.lab, "results.jsonl"), "a") as handle:
            handle.write(json.dumps({"experiment_file": "experiments/fake.py", "rmse": 0.0}) + "\n")
    if a.n == a.garbage:
        print("I had no idea this time, sorry.")
        return
    with open(os.path.join(a.lab, target), "w") as handle:
        handle.write(source(a.n, a.n in a.broken or a.n in a.hopeless))
    print("thinking... done")
    print(json.dumps({"experiment_file": target, "valid": True, "notes": f"experiment {a.n}"}))


if __name__ == "__main__":
    main()
