#!/usr/bin/env python3
"""An independent computation of `audience measure` (numpy/scipy), for the tests to compare with.

Usage: measure_peer.py AUDIENCES_DIR OUTCOMES.csv ID OUTCOME[,OUTCOME...] [--pre COL] [--missing skip|zero]

Reads every audience folder's members.csv and holdout.csv and the outcomes CSV with the csv
module, compares ids as canonical text (an integral number as its digits: "12.0" is "12"),
and prints JSON: per audience the distinct member and holdout ids, those not in the
outcomes, and per outcome the lift with Welch's standard error and scipy's normal
distribution, and CUPED (Deng et al. 2013) with numpy's covariance (ddof 1).
Audiences without holdout ids are left out.
"""
import csv
import json
import os
import re
import sys

import numpy as np
from scipy import stats

INTEGRAL = re.compile(r"^\+?(-?\d+)(?:\.0*)?$")


def canon(v):
    s = v.strip()
    if s == "":
        return None
    m = INTEGRAL.match(s)
    if not m:
        return s
    d = str(int(m.group(1)))
    return "0" if d == "-0" else d


def ids(path, col):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        return {k for k in (canon(row[col]) for row in r) if k is not None}


def num(v):
    v = v.strip()
    return float(v) if v not in ("", "NA", "null") else None


def lift(m, h, members):
    m, h = np.asarray(m, float), np.asarray(h, float)
    vm, vh = m.var(ddof=1), h.var(ddof=1)
    se = np.sqrt(vm / len(m) + vh / len(h))
    d = m.mean() - h.mean()
    z = stats.norm.ppf(0.975)
    return {
        "nMembers": len(m), "nHoldout": len(h), "memberMean": m.mean(), "holdoutMean": h.mean(),
        "lift": d, "liftLow": d - z * se, "liftHigh": d + z * se,
        "relativeLift": d / h.mean() if h.mean() != 0 else None,
        "pValue": 2 * stats.norm.sf(abs(d / se)), "incremental": d * members,
        "minDetectableLift": (z + stats.norm.ppf(0.8)) * se,
    }


def main():
    args = sys.argv[1:]
    pre = args[args.index("--pre") + 1] if "--pre" in args else None
    missing = args[args.index("--missing") + 1] if "--missing" in args else "skip"
    folder, outcomes_file, id_col, outcome_cols = args[0], args[1], args[2], args[3].split(",")
    table = {}
    with open(outcomes_file, newline="") as f:
        for row in csv.DictReader(f):
            table[canon(row[id_col])] = row
    out = []
    for name in sorted(os.listdir(folder)):
        d = os.path.join(folder, name)
        if not os.path.isdir(d):
            continue
        mem = ids(os.path.join(d, "members.csv"), id_col)
        hold = ids(os.path.join(d, "holdout.csv"), id_col)
        if not hold:
            continue
        a = {"name": name, "members": len(mem), "holdout": len(hold),
             "unmatched": {"members": len(mem - table.keys()), "holdout": len(hold - table.keys())}, "outcomes": []}
        for col in outcome_cols:
            groups = []
            for group in (mem, hold):
                ys, xs = [], []
                for k in sorted(group):
                    row = table.get(k)
                    y = num(row[col]) if row else None
                    x = num(row[pre]) if row and pre else None
                    if y is None and missing == "zero":
                        y = 0.0
                    if x is None and missing == "zero":
                        x = 0.0
                    if y is not None:
                        ys.append(y)
                        xs.append(x)
                groups.append((np.array(ys), np.array(xs, float) if pre else None))
            (ym, xm), (yh, xh) = groups
            o = {"outcome": col, **lift(ym, yh, len(mem))}
            if pre:
                x, y = np.concatenate([xm, xh]), np.concatenate([ym, yh])
                c = np.cov(x, y, ddof=1)
                theta = c[0, 1] / c[0, 0]
                cm, ch = ym - theta * (xm - x.mean()), yh - theta * (xh - x.mean())
                cup = lift(cm, ch, len(mem))
                se2 = lambda e: ((e["liftHigh"] - e["liftLow"]) / (2 * stats.norm.ppf(0.975))) ** 2
                cup["theta"] = theta
                cup["varianceReduction"] = 1 - se2(cup) / se2(o)
                o["cuped"] = cup
            a["outcomes"].append(o)
        out.append(a)
    json.dump({"audiences": out}, sys.stdout, default=float)


if __name__ == "__main__":
    main()
