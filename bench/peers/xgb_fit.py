"""XGBoost with its defaults (all cores) fitted on the given rows, ROC-AUC on the test rows: the
time-to-quality peer of bench/propensity.ts. float32 rows x d, 0/1 labels, int32 row indices. One JSON line."""
import json, os, sys, time
import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score
args = json.loads(sys.argv[1])
x = np.fromfile(args["x"], dtype=np.float32).reshape(-1, args["d"])
y = np.fromfile(args["y"], dtype=np.uint8)
fit = np.fromfile(args["fit"], dtype=np.int32)
test = np.fromfile(args["test"], dtype=np.int32)
t = time.perf_counter()
model = xgb.XGBClassifier(n_jobs=os.cpu_count(), random_state=0).fit(x[fit], y[fit])
seconds = time.perf_counter() - t
auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
print(json.dumps({"fit_seconds": seconds, "roc_auc": auc, "xgboost": xgb.__version__, "rows": int(len(fit))}))
