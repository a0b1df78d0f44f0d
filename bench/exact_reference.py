#!/usr/bin/env python3
"""Exact answers for the benchmarks, and recall of an approximate method.

    exact_reference.py search ROOT --query Q.npy --out exact_search.json   exact top-k (cosine)
    exact_reference.py pairs  ROOT --threshold 0.7 --out exact_pairs.csv   every cross-folder pair >= threshold
    exact_reference.py recall --exact exact_search.json --got original.json
    exact_reference.py recall --exact exact_pairs.csv --got pairs_original.csv [--planted ROOT/planted.csv]

Everything is brute force with numpy matrix products in blocks (use
OPENBLAS_CORETYPE=SkylakeX on CPUs OpenBLAS 0.3.21 misdetects). Faces are
named "folder/file" as in original_search.py and original_pairs.py.
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np


def load(root, key):
    """All faces under root, L2-normalised float32 rows, with ids and folder numbers."""
    vecs, ids, folder = [], [], []
    dirs = [d for d in sorted(os.listdir(root)) if os.path.isdir(os.path.join(root, d))]
    for fi, d in enumerate(dirs):
        with np.load(os.path.join(root, d, "npKnown.npz")) as data:
            v = np.asarray(data[key], dtype=np.float64)
            v = v.reshape((v.shape[0], -1))
            vecs.append(v)
            ids.extend(d + "/" + str(n) for n in data["name"])
            folder.extend([fi] * v.shape[0])
    x = np.vstack(vecs)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), ids, np.asarray(folder)


def cmd_search(args):
    t0 = time.time()
    x, ids, _ = load(args.root, args.key)
    q = np.load(args.query).astype(np.float32).reshape(-1, x.shape[1])
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = q @ x.T
    top = np.argsort(-s, axis=1, kind="stable")[:, : args.k]
    results = [[{"id": ids[j], "cos": round(float(s[r, j]), 6)} for j in top[r]] for r in range(len(q))]
    out = {"method": "exact", "faces": len(ids), "k": args.k, "queries": len(q),
           "seconds": {"total": round(time.time() - t0, 3)}, "results": results}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")
    print(f"exact search: {len(q)} queries over {len(ids)} faces in {time.time() - t0:.2f} s", file=sys.stderr)


def cmd_pairs(args):
    t0 = time.time()
    x, ids, folder = load(args.root, args.key)
    n = len(ids)
    rows = []
    block = args.block
    for a in range(0, n, block):
        b = min(a + block, n)
        s = x[a:b] @ x[a:].T  # columns a.. : only pairs (i, j) with j > i are kept
        ii, jj = np.nonzero(s >= args.threshold)
        gi, gj = ii + a, jj + a
        keep = (gj > gi) & (folder[gi] != folder[gj])
        for i, j, c in zip(gi[keep], gj[keep], s[ii[keep], jj[keep]]):
            rows.append((float(c), ids[i], ids[j]))
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for c, i, j in rows:
            w.writerow([i, j, f"{c:.6f}"])
    out = {"method": "exact-pairs", "faces": n, "threshold": args.threshold, "pairs": len(rows),
           "seconds": {"total": round(time.time() - t0, 3)}}
    print(json.dumps(out))


def pair_set(path):
    with open(path, encoding="utf-8", newline="") as f:
        return {tuple(sorted(r[:2])) for r in csv.reader(f) if r}


def cmd_recall(args):
    if args.exact.endswith(".json"):
        with open(args.exact, encoding="utf-8") as f:
            exact = json.load(f)
        with open(args.got, encoding="utf-8") as f:
            got = json.load(f)
        if len(exact["results"]) != len(got["results"]):
            sys.exit("recall: the two files answer different numbers of queries")
        k = exact["k"]
        per = []
        for e, g in zip(exact["results"], got["results"]):
            want = {h["id"] for h in e[:k]}
            per.append(len(want & {h["id"] for h in g[:k]}) / len(want))
        print(json.dumps({"recall_at_k": round(float(np.mean(per)), 4), "k": k, "queries": len(per),
                          "queries_with_full_recall": int(sum(p == 1 for p in per))}))
        return
    exact, got = pair_set(args.exact), pair_set(args.got)
    out = {"exact_pairs": len(exact), "found_pairs": len(got), "true_found": len(exact & got),
           "recall": round(len(exact & got) / len(exact), 4) if exact else None,
           "precision": round(len(exact & got) / len(got), 4) if got else None}
    if args.planted:
        with open(args.planted, encoding="utf-8", newline="") as f:
            planted = [(r["folder"], r["dup_folder"]) for r in csv.DictReader(f)]

        def folders_hit(pairs):
            hit = set()
            for a, b in pairs:
                fa, fb = a.split("/")[0], b.split("/")[0]
                hit.add(tuple(sorted((fa, fb))))
            return hit

        eh, gh = folders_hit(exact), folders_hit(got)
        want = {tuple(sorted(p)) for p in planted}
        out["planted"] = len(want)
        out["planted_found_exact"] = len(want & eh)
        out["planted_found"] = len(want & gh)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("search")
    s.add_argument("root")
    s.add_argument("--query", required=True)
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--out", required=True)
    s.add_argument("--key", default="efficientnetv2_arcface")
    p = sub.add_parser("pairs")
    p.add_argument("root")
    p.add_argument("--threshold", type=float, default=0.7)
    p.add_argument("--out", required=True)
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--key", default="efficientnetv2_arcface")
    r = sub.add_parser("recall")
    r.add_argument("--exact", required=True)
    r.add_argument("--got", required=True)
    r.add_argument("--planted")
    args = ap.parse_args()
    {"search": cmd_search, "pairs": cmd_pairs, "recall": cmd_recall}[args.cmd](args)


if __name__ == "__main__":
    main()
