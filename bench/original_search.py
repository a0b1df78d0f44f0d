#!/usr/bin/env python3
"""Re-implementation of the original FACE01 query script (find_similarity.py).

The original: load ROOT/<person>/npKnown.npz for every folder, reshape the
'efficientnetv2_arcface' array to (n, 512), faiss.normalize_L2 it per folder,
np.vstack everything, build IndexIVFFlat(IndexFlatIP, 512, nlist=100, inner
product), train, add, search k=10 with faiss's default nprobe=1, and turn the
inner products into cosines by dividing by both norms (the query itself is
not normalised). Its 41.8 s per query on 57,637 faces also included detecting
and embedding the query photo; here the query embedding comes from a .npy file.

Deviations, all neutral for timing: folders are visited in sorted order (the
original used os.listdir order) so that runs are reproducible; results name
faces as "folder/file" and are printed as JSON.

--fixed normalises once after np.vstack instead of once per folder.

    OPENBLAS_CORETYPE=SkylakeX python3 bench/original_search.py ROOT --query ROOT/queries.npy
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
    ap.add_argument("root", help="dataset root holding <person>/npKnown.npz")
    ap.add_argument("--query", required=True, help=".npy of shape (512,), (1, 512) or (Q, 512)")
    ap.add_argument("--row", type=int, help="search only this row of the query file (default: every row)")
    ap.add_argument("--fixed", action="store_true", help="normalise once after stacking, not per folder")
    ap.add_argument("--key", default="efficientnetv2_arcface")
    ap.add_argument("--nlist", type=int, default=100)
    ap.add_argument("--nprobe", type=int, default=1, help="faiss default is 1, as in the original")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    args = ap.parse_args()

    dimension = 512
    quantizer = faiss.IndexFlatIP(dimension)

    face_encoding = np.load(args.query).astype(np.float32).reshape(-1, dimension)
    if args.row is not None:
        face_encoding = face_encoding[args.row : args.row + 1]

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
            all_name_list.extend(name_list)
            all_dir_list.extend([dir] * len(name_list))
    all_model_data = np.vstack(all_model_data)
    if args.fixed:
        faiss.normalize_L2(all_model_data)
    t_load = time.time() - t0

    index = faiss.IndexIVFFlat(quantizer, dimension, args.nlist, faiss.METRIC_INNER_PRODUCT)
    index.nprobe = args.nprobe
    t0 = time.time()
    index.train(all_model_data)
    t_train = time.time() - t0
    t0 = time.time()
    index.add(all_model_data)
    t_add = time.time() - t0

    t0 = time.time()
    D, I = index.search(face_encoding, args.k)
    t_search = time.time() - t0

    results = []
    for q in range(len(I)):
        length_query = np.linalg.norm(face_encoding[q])
        hits = []
        for i in range(len(I[q])):
            index_i = I[q][i]
            if index_i < 0:  # fewer than k faces in the probed lists
                continue
            length_result = np.linalg.norm(all_model_data[index_i])
            cos_similarity = D[q][i] / (length_query * length_result)
            hits.append({"id": os.path.basename(all_dir_list[index_i]) + "/" + str(all_name_list[index_i]),
                         "cos": round(float(cos_similarity), 6)})
        results.append(hits)

    elapsed_time = time.time() - start_time
    out = {
        "method": "original-fixed" if args.fixed else "original",
        "faces": int(all_model_data.shape[0]),
        "folders": len(sub_dir_path_list),
        "nlist": args.nlist,
        "nprobe": args.nprobe,
        "k": args.k,
        "queries": len(face_encoding),
        "seconds": {"load_normalise": round(t_load, 3), "train": round(t_train, 3), "add": round(t_add, 3),
                    "search": round(t_search, 4), "total": round(elapsed_time, 3)},
        "results": results,
    }
    text = json.dumps(out, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    minutes, seconds = divmod(elapsed_time, 60)
    print(f"{out['method']}: {out['faces']} faces, total {int(minutes)} min {seconds:.2f} s "
          f"(load+normalise {t_load:.2f}, train {t_train:.2f}, add {t_add:.2f}, search {t_search*1000:.1f} ms)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
