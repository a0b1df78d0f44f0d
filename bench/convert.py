#!/usr/bin/env python3
"""Convert facesearch output to the formats exact_reference.py compares.

    convert.py search FACESEARCH_SEARCH.json OUT.json   search --json -> {"k", "results": [[{"id", "cos"}]]}
    convert.py pairs  FACESEARCH_PAIRS.csv   OUT.csv    pairs CSV (with header) -> id1,id2,cos

Faces are named "folder/file" as in original_search.py: facesearch's result
"path" (relative to the dataset root) for search; for pairs, whose CSV gives
absolute file paths, the person folder and the file's base name (the
generated datasets have no deeper folders). Standard library only.
"""
import csv
import json
import os
import sys


def search(src, dst):
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)
    results = []
    for q in doc["queries"]:
        if q.get("error"):
            sys.exit(f"convert: {src}: query {q.get('source')} failed: {q['error']}")
        results.append([{"id": r["path"], "cos": r["similarity"]} for r in q["results"]])
    with open(dst, "w", encoding="utf-8") as f:
        json.dump({"method": "facesearch", "k": doc["k"], "results": results}, f, ensure_ascii=False)
        f.write("\n")


def pairs(src, dst):
    with open(src, encoding="utf-8", newline="") as f, open(dst, "w", encoding="utf-8", newline="") as g:
        r = csv.DictReader(f)
        w = csv.writer(g)
        for row in r:
            a = row["person_a"] + "/" + os.path.basename(row["file_a"])
            b = row["person_b"] + "/" + os.path.basename(row["file_b"])
            w.writerow([a, b, row["similarity"]])


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("search", "pairs"):
        sys.exit(__doc__)
    {"search": search, "pairs": pairs}[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
