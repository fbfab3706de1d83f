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
    def xg():
        m = xgb.XGBClassifier(n_estimators=2000, max_depth=4, learning_rate=0.03, subsample=0.9, colsample_bytree=0.9,
                              eval_metric="logloss", early_stopping_rounds=100, random_state=seed, n_jobs=2)
        m.fit(x[idx["train"]], y[idx["train"]], eval_set=[(x[idx["valid"]], y[idx["valid"]])], verbose=False)
        return m.predict_proba(x[idx["valid"]])[:, 1], m.predict_proba(x[idx["test"]])[:, 1]
    out.append(report("XGBoost (depth 4, early stopping)", xg))
    tv = np.concatenate([idx["train"], idx["valid"]])
    def xg_refit():
        # Early stopping on validation picks the rounds; then refit on train + validation with them.
        m = xgb.XGBClassifier(n_estimators=2000, max_depth=4, learning_rate=0.03, subsample=0.9, colsample_bytree=0.9,
                              eval_metric="logloss", early_stopping_rounds=100, random_state=seed, n_jobs=2)
        m.fit(x[idx["train"]], y[idx["train"]], eval_set=[(x[idx["valid"]], y[idx["valid"]])], verbose=False)
        r = xgb.XGBClassifier(n_estimators=m.best_iteration + 1, max_depth=4, learning_rate=0.03, subsample=0.9, colsample_bytree=0.9,
                              random_state=seed, n_jobs=2)
        r.fit(x[tv], y[tv])
        return r.predict_proba(x[idx["valid"]])[:, 1], r.predict_proba(x[idx["test"]])[:, 1]
    out.append(report("XGBoost (depth 4, early stopping, refit on train+valid)", xg_refit))
    def xg_default():
        m = xgb.XGBClassifier(random_state=seed, n_jobs=2)
        m.fit(x[tv], y[tv])
        return m.predict_proba(x[idx["valid"]])[:, 1], m.predict_proba(x[idx["test"]])[:, 1]
    out.append(report("XGBoost defaults (train+valid)", xg_default))
except ImportError:
    pass
print(json.dumps(out))
