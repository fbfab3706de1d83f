"""FAISS exact inner-product search (IndexFlatIP) of normalized rows against normalized
seeds: k-nearest mean similarity and centroid similarity, rows/s and peak memory. One JSON line."""
import json, resource, sys, time
import numpy as np
import faiss
args = json.loads(sys.argv[1])
d, k = args["d"], args["k"]
x = np.fromfile(args["x"], dtype=np.float32).reshape(-1, d)
seeds = np.fromfile(args["seeds"], dtype=np.float32).reshape(-1, d)
faiss.normalize_L2(x)
faiss.normalize_L2(seeds)
index = faiss.IndexFlatIP(d)
index.add(seeds)
t = time.perf_counter()
sims, _ = index.search(x, k)
knn_s = time.perf_counter() - t
knn = sims.mean(axis=1)
c = seeds.mean(axis=0, keepdims=True)
faiss.normalize_L2(c)
t = time.perf_counter()
cen = x @ c.T
cen_s = time.perf_counter() - t
print(json.dumps({"knn_rows_per_s": len(x) / knn_s, "centroid_rows_per_s": len(x) / cen_s, "threads": faiss.omp_get_max_threads(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "knn_first": knn[:5].tolist(), "faiss": faiss.__version__}))
