"""scikit-learn KMeans (Lloyd) time per iteration on the data and initial centroids given.

Fits with several max_iter values (tol=0) and takes the slope of time over the iterations
actually run (n_iter_), so setup, validation and an early stop do not distort the figure.
Runs float32 (the engine's precision) and float64 (numpy's default). Prints one JSON line.
"""
import json, sys, time
import numpy as np
import sklearn
from sklearn.cluster import KMeans
import threadpoolctl

args = json.loads(sys.argv[1])
raw = np.fromfile(args["data"], dtype=np.float32).reshape(-1, args["d"])
init32 = np.fromfile(args["init"], dtype=np.float32).reshape(args["k"], args["d"])
out = {"sklearn": sklearn.__version__,
       "threads": max([t.get("num_threads", 1) for t in threadpoolctl.threadpool_info()] or [1])}
for dtype in ["float32", "float64"]:
    x = raw if dtype == "float32" else raw.astype(np.float64)
    init = init32.astype(x.dtype)
    KMeans(args["k"], init=init, n_init=1, max_iter=2, tol=0).fit(x)  # warm the thread pool
    points = []
    for m in args["max_iters"]:
        best = float("inf")
        for _ in range(args["reps"]):
            km = KMeans(args["k"], init=init, n_init=1, max_iter=m, tol=0, algorithm="lloyd")
            t = time.perf_counter()
            km.fit(x)
            best = min(best, time.perf_counter() - t)
        points.append((km.n_iter_, best * 1000))
    iters, ms = np.array(points).T
    out[dtype] = {"ms_per_iter": float(np.polyfit(iters, ms, 1)[0]), "points": points}
    del x
print(json.dumps(out))
