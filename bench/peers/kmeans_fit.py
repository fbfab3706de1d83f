"""scikit-learn KMeans full fit beside the product's: the foundation check of the K-Means bench.

Fits KMeans(k, n_init, random_state=0) with scikit-learn's other defaults (k-means++ on every
row, Lloyd, max_iter=300, tol=1e-4) on the data in float64 (numpy's default), then evaluates
the inertia of its centroids and of the product's centroids (given) the same way: float64,
each row's squared distance to its nearest centroid, summed. Prints one JSON line.
"""
import json, sys, time
import numpy as np
import sklearn
from sklearn.cluster import KMeans

args = json.loads(sys.argv[1])
x = np.fromfile(args["data"], dtype=np.float32).reshape(-1, args["d"]).astype(np.float64)
ours = np.fromfile(args["ours"], dtype=np.float32).reshape(args["k"], args["d"]).astype(np.float64)


def inertia(c):
    """Sum over rows of the squared distance to the nearest centroid, float64, in chunks."""
    total = 0.0
    for s in range(0, len(x), 1 << 18):
        b = x[s:s + (1 << 18)]
        d = (b * b).sum(1)[:, None] - 2 * b @ c.T + (c * c).sum(1)[None, :]
        total += float(np.maximum(d.min(1), 0).sum())
    return total


t = time.perf_counter()
km = KMeans(args["k"], n_init=args["n_init"], random_state=0).fit(x)
seconds = time.perf_counter() - t
print(json.dumps({"sklearn": sklearn.__version__, "fit_seconds": seconds, "n_iter": int(km.n_iter_),
                  "sklearn_inertia": inertia(km.cluster_centers_), "sklearn_inertia_reported": float(km.inertia_),
                  "ours_inertia": inertia(ours)}))
