#!/usr/bin/env python3
"""Re-implementation of the original FACE01 cleansing method
(faiss_6_combination_similarity*.py in yKesamaru/find_similar_faces).

The original: load and per-folder faiss.normalize_L2 every npKnown.npz as the
query script does, build IndexIVFFlat(nlist=100, inner product), train, add,
then search every face against the index (k=10, faiss default nprobe=1) and
write each pair of faces from different folders with inner product >= the
threshold (0.7 in the original) once.

Deviation: the original remembers written pairs by their two file names; its
file names held the person's name and were unique, generated datasets reuse
img0001.jpg in every folder, so pairs are keyed by "folder/file" here.
--fixed normalises once after stacking, as in original_search.py.

    OPENBLAS_CORETYPE=SkylakeX python3 bench/original_pairs.py ROOT --out pairs_original.csv
"""
import argparse
import json
import os
import sys
import time

import faiss
import numpy as np


def main():
    start_time = time.time()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--out", required=True, help="CSV of id1,id2,cos (ids are folder/file)")
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--fixed", action="store_true", help="normalise once after stacking, not per folder")
    ap.add_argument("--key", default="efficientnetv2_arcface")
    ap.add_argument("--nlist", type=int, default=100)
    ap.add_argument("--nprobe", type=int, default=1)
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()

    dimension = 512
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFFlat(quantizer, dimension, args.nlist, faiss.METRIC_INNER_PRODUCT)
    index.nprobe = args.nprobe

    root_dir = args.root
    sub_dir_path_list = [
        os.path.join(root_dir, sub_dir)
        for sub_dir in sorted(os.listdir(root_dir))
        if os.path.isdir(os.path.join(root_dir, sub_dir))
    ]

    t0 = time.time()
    all_model_data = []
    all_name_list = []
    all_dir_list = []
    for dir in sub_dir_path_list:
        npz_file = os.path.join(dir, "npKnown.npz")
        with np.load(npz_file) as data:
            model_data = data[args.key]
            name_list = data["name"]
            model_data = model_data.reshape((model_data.shape[0], -1))
            if not args.fixed:
                faiss.normalize_L2(model_data)
            all_model_data.append(model_data)
            base = os.path.basename(dir)
            all_name_list.extend(base + "/" + str(n) for n in name_list)
            all_dir_list.extend([dir] * len(name_list))
    all_model_data = np.vstack(all_model_data)
    if args.fixed:
        faiss.normalize_L2(all_model_data)
    t_load = time.time() - t0

    t0 = time.time()
    index.train(all_model_data)
    index.add(all_model_data)
    t_build = time.time() - t0

    t0 = time.time()
    k = args.k
    D, I = index.search(all_model_data, k)
    t_search = time.time() - t0

    t0 = time.time()
    similarity = args.threshold
    processed_pairs = set()
    written = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(D.shape[0]):
            for j in range(D.shape[1]):
                if I[i, j] < 0:
                    continue
                sorted_pair = tuple(sorted([all_name_list[i], all_name_list[I[i, j]]]))
                if D[i, j] >= similarity and all_dir_list[i] != all_dir_list[I[i, j]] and sorted_pair not in processed_pairs:
                    f.write(f"{all_name_list[i]},{all_name_list[I[i, j]]},{D[i, j]}\n")
                    processed_pairs.add(sorted_pair)
                    written += 1
    t_pairs = time.time() - t0

    elapsed_time = time.time() - start_time
    out = {
        "method": "original-pairs-fixed" if args.fixed else "original-pairs",
        "faces": int(all_model_data.shape[0]),
        "folders": len(sub_dir_path_list),
        "threshold": similarity,
        "nlist": args.nlist, "nprobe": args.nprobe, "k": k,
        "pairs": written,
        "seconds": {"load_normalise": round(t_load, 3), "train_add": round(t_build, 3), "search": round(t_search, 3),
                    "pairs": round(t_pairs, 3), "total": round(elapsed_time, 3)},
    }
    print(json.dumps(out))
    minutes, seconds = divmod(elapsed_time, 60)
    print(f"{out['method']}: {written} pairs >= {similarity}, total {int(minutes)} min {seconds:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
