"""scikit-learn MLPClassifier: training samples/s and predict rows/s on the given data.
Same architecture and batch size as the engine's benchmark; float32 data. One JSON line."""
import json, sys, time, warnings
import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.exceptions import ConvergenceWarning
warnings.filterwarnings("ignore", category=ConvergenceWarning)
args = json.loads(sys.argv[1])
x = np.fromfile(args["x"], dtype=np.float32).reshape(-1, args["d"])
y = np.fromfile(args["y"], dtype=np.uint8)
clf = MLPClassifier(hidden_layer_sizes=tuple(args["hidden"]), batch_size=args["batch"], solver="adam", learning_rate_init=1e-3,
                    alpha=1e-4, max_iter=args["epochs"], tol=0, n_iter_no_change=10**9, shuffle=True, random_state=0)
t = time.perf_counter(); clf.fit(x, y); train = time.perf_counter() - t
times = []
for _ in range(3):
    t = time.perf_counter(); clf.predict_proba(x); times.append(time.perf_counter() - t)
print(json.dumps({"train_samples_per_s": len(y) * clf.n_iter_ / train, "epochs": clf.n_iter_,
                  "predict_rows_per_s": len(y) / sorted(times)[1], "sklearn": __import__("sklearn").__version__}))
