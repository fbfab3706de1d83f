"""Peers for the held-out check (bench/holdout.ts): fitted on a train CSV as a user would fit
them on the raw file (numbers as they are, text one-hot with the training file's levels),
scored on the test CSV. XGBoost with its defaults and a standardized logistic regression: the
test ROC-AUC of each, and the share of the test file's positives in each model's top 10% (the
logistic regression, positives vs the rest of the training file, is the lookalike's
positive-unlabeled baseline). One JSON line."""
import csv, json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
warnings.filterwarnings("ignore")
args = json.loads(sys.argv[1])

def load(path):
    with open(path, newline="") as f:
        dialect = csv.Sniffer().sniff(f.read(1 << 16), delimiters=",;\t|")  # bank-marketing files use ";"
        f.seek(0)
        rows = list(csv.reader(f, dialect))
    return rows[0], rows[1:]

header, train = load(args["train"])
_, test = load(args["test"])
yi = header.index(args["label"])
positive = args["positive"]

def number(v):
    try:
        return float(v)
    except ValueError:
        return None

num = [j for j in range(len(header)) if j != yi and all(number(r[j]) is not None or r[j] == "" for r in train[:2000])]
cat = [j for j in range(len(header)) if j != yi and j not in num]
levels = {j: sorted(set(r[j] for r in train)) for j in cat}

def matrix(rows):
    cols = [np.array([number(r[j]) if r[j] != "" else np.nan for r in rows]) for j in num]
    for j in cat:
        cols += [np.array([1.0 if r[j] == level else 0.0 for r in rows]) for level in levels[j]]
    return np.stack(cols, 1), np.array([1 if r[yi] == positive else 0 for r in rows])

xtr, ytr = matrix(train)
xte, yte = matrix(test)

def recall_at(score, share=0.1):
    top = np.argsort(-score, kind="stable")[: int(round(share * len(score)))]
    return float(yte[top].sum() / yte.sum())

out = []
import xgboost as xgb
model = xgb.XGBClassifier(n_jobs=2, random_state=args["seed"])
model.fit(xtr, ytr)
p = model.predict_proba(xte)[:, 1]
out.append({"model": "XGBoost defaults", "roc_auc": roc_auc_score(yte, p), "recall10": recall_at(p)})
fill = np.nanmedian(xtr, axis=0)
impute = lambda x: np.where(np.isnan(x), fill, x)
scaler = StandardScaler().fit(impute(xtr))
lr = LogisticRegression(max_iter=5000).fit(scaler.transform(impute(xtr)), ytr)
s = lr.decision_function(scaler.transform(impute(xte)))
out.append({"model": "logistic regression (the lookalike's PU baseline)", "roc_auc": roc_auc_score(yte, s), "recall10": recall_at(s)})
print(json.dumps(out))
