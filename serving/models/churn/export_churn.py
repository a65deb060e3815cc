#!/usr/bin/python3
"""Export the seed's churn model to ONNX without skl2onnx.

The seed trains scikit-learn RandomForestClassifier(n_estimators=10, random_state=42) on
make_classification(n_samples=1000, n_features=4, random_state=42). This script trains exactly
that model and writes it as an ai.onnx.ml TreeEnsembleClassifier followed by an ArgMax:

  input          "input"          FP32  [-1, 4]   (dynamic batch)
  outputs        "label"          INT64 [-1]
                 "probabilities"  FP32  [-1, 2]   (no ZipMap, so any ONNX runtime can read it)

Mapping (why it is exact):
  * sklearn sends a sample left when x[f] <= threshold, so every split is BRANCH_LEQ with the
    left child as the true branch.
  * sklearn compares float32 features against float64 thresholds; ONNX thresholds are float32.
    Rounding each threshold DOWN to the largest float32 <= threshold keeps `x <= t` identical for
    every float32 x, where round-to-nearest could flip samples that equal the rounded value.
  * predict_proba is the mean over trees of each leaf's class fractions, so each leaf carries its
    class fractions divided by the number of trees and the operator sums them (post_transform NONE).
  * sklearn's predict is the first class with the highest probability: "label" is
    ArgMax(probabilities), not the operator's own label output (see build_onnx).

It checks the written file against predict_proba with an independent evaluator that re-reads the
attributes from the saved ONNX file (onnxruntime is checked from Node: see README.md).

Usage (Debian packages, system python):
  apt-get install -y python3-sklearn python3-onnx
  /usr/bin/python3 serving/models/churn/export_churn.py [--all-rows-out /tmp/churn-all.json]
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import sklearn
from onnx import TensorProto, helper
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VERSION = "1.0.0"
VERSION_DIR = os.path.join(HERE, VERSION)
FIXTURE = os.path.join(REPO, "test", "fixtures", "churn-expected.json")
# Fixed so that re-running the script reproduces the committed files byte for byte.
CREATED_AT = "2025-01-01T00:00:00.000Z"
N_FEATURES = 4
LABELS = [0, 1]
FIXTURE_ROWS = 8
TOLERANCE = 1e-6


def train():
    x, y = make_classification(n_samples=1000, n_features=N_FEATURES, random_state=42)
    model = RandomForestClassifier(n_estimators=10, random_state=42)
    model.fit(x, y)
    return model, x, y


def floor_float32(values):
    """Largest float32 <= each float64 value (see the module docstring)."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    too_big = rounded.astype(np.float64) > values
    rounded[too_big] = np.nextafter(rounded[too_big], np.float32(-np.inf))
    return rounded


def build_onnx(model):
    n_trees = len(model.estimators_)
    attrs = {
        "nodes_treeids": [],
        "nodes_nodeids": [],
        "nodes_featureids": [],
        "nodes_modes": [],
        "nodes_values": [],
        "nodes_truenodeids": [],
        "nodes_falsenodeids": [],
        "class_treeids": [],
        "class_nodeids": [],
        "class_ids": [],
        "class_weights": [],
    }
    for tree_id, estimator in enumerate(model.estimators_):
        tree = estimator.tree_
        thresholds = floor_float32(tree.threshold)
        for node_id in range(tree.node_count):
            left, right = int(tree.children_left[node_id]), int(tree.children_right[node_id])
            is_leaf = left == -1
            attrs["nodes_treeids"].append(tree_id)
            attrs["nodes_nodeids"].append(node_id)
            attrs["nodes_featureids"].append(0 if is_leaf else int(tree.feature[node_id]))
            attrs["nodes_modes"].append("LEAF" if is_leaf else "BRANCH_LEQ")
            attrs["nodes_values"].append(0.0 if is_leaf else float(thresholds[node_id]))
            attrs["nodes_truenodeids"].append(0 if is_leaf else left)
            attrs["nodes_falsenodeids"].append(0 if is_leaf else right)
            if is_leaf:
                # tree_.value holds (weighted) class counts in sklearn < 1.4 and fractions from
                # 1.4 on; normalising covers both.
                counts = tree.value[node_id][0]
                fractions = counts / counts.sum()
                for class_id, fraction in enumerate(fractions):
                    attrs["class_treeids"].append(tree_id)
                    attrs["class_nodeids"].append(node_id)
                    attrs["class_ids"].append(class_id)
                    attrs["class_weights"].append(float(fraction) / n_trees)

    forest = helper.make_node(
        "TreeEnsembleClassifier",
        inputs=["input"],
        outputs=["forest_label", "probabilities"],
        domain="ai.onnx.ml",
        name="churn_forest",
        classlabels_int64s=LABELS,
        post_transform="NONE",
        **attrs,
    )
    # The operator's own label output is not sklearn's predict: onnxruntime labels a two-class
    # ensemble 1 whenever class 1 has any positive score. sklearn predicts the first class with
    # the highest probability, which is exactly ArgMax (select_last_index=0); the class labels
    # are 0 and 1, so the argmax index is the label.
    argmax = helper.make_node(
        "ArgMax", inputs=["probabilities"], outputs=["label"], name="churn_label", axis=1, keepdims=0
    )
    graph = helper.make_graph(
        [forest, argmax],
        "churn",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, N_FEATURES])],
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(LABELS)]),
        ],
    )
    # Dynamic dims get a symbolic name so tools show "batch" rather than "?".
    for value_info in list(graph.input) + list(graph.output):
        value_info.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx_model = helper.make_model(
        graph,
        producer_name="export_churn.py",
        producer_version=f"sklearn-{sklearn.__version__}",
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    onnx_model.ir_version = 8
    onnx_model.doc_string = (
        "Seed churn model: RandomForestClassifier(n_estimators=10, random_state=42) on "
        "make_classification(n_samples=1000, n_features=4, random_state=42)."
    )
    onnx.checker.check_model(onnx_model)
    return onnx_model


def evaluate_onnx(onnx_model, x):
    """Independent evaluator: walks the trees as the ONNX attributes (re-read from disk) say."""
    node = next(n for n in onnx_model.graph.node if n.op_type == "TreeEnsembleClassifier")
    a = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    modes = [m.decode() if isinstance(m, bytes) else m for m in a["nodes_modes"]]
    nodes = {}
    for i, (t, n) in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"])):
        nodes[(t, n)] = i
    weights = {}
    for t, n, c, w in zip(a["class_treeids"], a["class_nodeids"], a["class_ids"], a["class_weights"]):
        weights.setdefault((t, n), np.zeros(len(LABELS), dtype=np.float32))[c] += np.float32(w)
    values = np.asarray(a["nodes_values"], dtype=np.float32)
    trees = sorted(set(a["nodes_treeids"]))
    x32 = np.asarray(x, dtype=np.float32)
    # float32 sums in tree order, as onnxruntime accumulates them for a float32 input.
    out = np.zeros((len(x32), len(LABELS)), dtype=np.float32)
    for row, sample in enumerate(x32):
        for t in trees:
            i = nodes[(t, 0)]
            while modes[i] != "LEAF":
                go_true = sample[a["nodes_featureids"][i]] <= values[i]
                nxt = a["nodes_truenodeids"][i] if go_true else a["nodes_falsenodeids"][i]
                i = nodes[(t, nxt)]
            out[row] += weights[(t, a["nodes_nodeids"][i])]
    return out


def js_number(value):
    """Formats a float the way JSON.stringify does (integral floats without `.0`)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def write_json(path, value):
    # Same layout as the TypeScript serializeManifest: 2-space indent, trailing newline.
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--all-rows-out",
        help="also write all 1000 training rows with sklearn's predict_proba (for the Node check)",
    )
    args = parser.parse_args()

    model, x, y = train()
    onnx_model = build_onnx(model)
    model_path = os.path.join(VERSION_DIR, "model.onnx")
    os.makedirs(VERSION_DIR, exist_ok=True)
    onnx.save(onnx_model, model_path)

    reloaded = onnx.load(model_path)
    expected = model.predict_proba(x.astype(np.float32))
    got = evaluate_onnx(reloaded, x)
    max_diff = float(np.max(np.abs(got - expected)))
    label_mismatch = int(np.sum(np.argmax(got, axis=1) != model.predict(x)))
    print(f"max |onnx - predict_proba| over {len(x)} rows: {max_diff:.3g}; label mismatches: {label_mismatch}")
    if max_diff >= TOLERANCE or label_mismatch:
        sys.exit(f"export check failed: max diff {max_diff} (limit {TOLERANCE}), {label_mismatch} labels")

    with open(model_path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    train_accuracy = float(model.score(x, y))
    cv_scores = cross_val_score(RandomForestClassifier(n_estimators=10, random_state=42), x, y, cv=5)
    # Key order and layout follow serving/src/model/manifest.ts serializeManifest, so the file is
    # byte-identical to what the TypeScript contract would write (a test checks this).
    manifest = {
        "name": "churn",
        "version": VERSION,
        "sha256": sha256,
        "framework": "onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, N_FEATURES]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(LABELS)]},
        ],
        "createdAt": CREATED_AT,
        "labels": [str(label) for label in LABELS],
        "metrics": {
            "accuracy_train": js_number(round(train_accuracy, 6)),
            "accuracy_cv5": js_number(round(float(np.mean(cv_scores)), 6)),
        },
    }
    write_json(os.path.join(VERSION_DIR, "manifest.json"), manifest)

    def rows(indices):
        proba = model.predict_proba(x[indices].astype(np.float32))
        return {
            "inputs": [[float(np.float32(v)) for v in x[i]] for i in indices],
            "probabilities": [[float(p) for p in row] for row in proba],
            "labels": [int(label) for label in model.predict(x[indices])],
        }

    # A spread of rows: the first four (both classes), two exact 0.5/0.5 ties (sklearn predicts
    # class 0) and two split votes, one leaning to each class.
    p1 = model.predict_proba(x)[:, 1]
    ties = [int(i) for i in np.flatnonzero(p1 == 0.5)[:2]]
    lean0 = int(np.flatnonzero((p1 > 0.2) & (p1 < 0.5))[0])
    lean1 = int(np.flatnonzero((p1 > 0.5) & (p1 < 0.8))[0])
    picks = [0, 1, 2, 3] + ties + [lean0, lean1]
    assert len(picks) == FIXTURE_ROWS, picks
    fixture = {
        "description": "sklearn predict_proba/predict of the seed churn model for rows of its training set; "
        "generated by serving/models/churn/export_churn.py",
        "model": {"name": "churn", "version": VERSION, "sha256": sha256},
        "sklearn": sklearn.__version__,
        "tolerance": TOLERANCE,
        **rows(picks),
        "rowIndices": picks,
    }
    write_json(FIXTURE, fixture)
    if args.all_rows_out:
        write_json(args.all_rows_out, {"tolerance": TOLERANCE, **rows(list(range(len(x))))})

    print(f"wrote {model_path} ({os.path.getsize(model_path)} bytes, sha256 {sha256})")
    print(f"train accuracy {train_accuracy:.4f}, 5-fold CV accuracy {np.mean(cv_scores):.4f}")


if __name__ == "__main__":
    main()
