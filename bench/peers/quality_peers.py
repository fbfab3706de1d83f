"""Peers on the engine's own split: the same transformed features, train / validation / test
rows. Thresholds are chosen on validation by max F1, as the engine does. One JSON line."""
import json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.metrics import roc_auc_score, average_precision_score, precision_recall_curve, f1_score, log_loss
warnings.filterwarnings("ignore")
args = json.loads(sys.argv[1])
x = np.fromfile(args["x"], dtype=np.float32).reshape(-1, args["d"])
y = np.fromfile(args["y"], dtype=np.uint8)
idx = {k: np.fromfile(args[k], dtype=np.int32) for k in ("train", "valid", "test")}
seed = args["seed"]

def f1_threshold(p, t):
    prec, rec, thr = precision_recall_curve(t, p)
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    return thr[np.argmax(f1[:-1])]

def report(name, fit_predict):
    pv, pt = fit_predict()
    thr = f1_threshold(pv, y[idx["valid"]])
    return {"model": name, "roc_auc": roc_auc_score(y[idx["test"]], pt), "pr_auc": average_precision_score(y[idx["test"]], pt),
            "f1": f1_score(y[idx["test"]], pt >= thr), "log_loss": log_loss(y[idx["test"]], np.clip(pt, 1e-7, 1 - 1e-7))}

def sk(model):
    def run():
        model.fit(x[idx["train"]], y[idx["train"]])
        return model.predict_proba(x[idx["valid"]])[:, 1], model.predict_proba(x[idx["test"]])[:, 1]
    return run

out = [report("sklearn LogisticRegression", sk(LogisticRegression(max_iter=5000))),
       report("sklearn MLPClassifier(128,64)", sk(MLPClassifier((128, 64), early_stopping=True, max_iter=500, random_state=seed)))]
try:
    import xgboost as xgb
    # Early stopping on validation picks the rounds; the refit then trains on train + validation with them.
    params = dict(max_depth=4, learning_rate=0.03, subsample=0.9, colsample_bytree=0.9, random_state=seed, n_jobs=2)
    stopped = xgb.XGBClassifier(n_estimators=2000, eval_metric="logloss", early_stopping_rounds=100, **params)
    stopped.fit(x[idx["train"]], y[idx["train"]], eval_set=[(x[idx["valid"]], y[idx["valid"]])], verbose=False)
    predict = lambda m: lambda: (m.predict_proba(x[idx["valid"]])[:, 1], m.predict_proba(x[idx["test"]])[:, 1])
    out.append(report("XGBoost (depth 4, early stopping)", predict(stopped)))
    tv = np.concatenate([idx["train"], idx["valid"]])
    refit = xgb.XGBClassifier(n_estimators=stopped.best_iteration + 1, **params).fit(x[tv], y[tv])
    out.append(report("XGBoost (depth 4, early stopping, refit on train+valid)", predict(refit)))
    out.append(report("XGBoost defaults (train+valid)", predict(xgb.XGBClassifier(random_state=seed, n_jobs=2).fit(x[tv], y[tv]))))
except ImportError:
    pass
print(json.dumps(out))
