"""Classification metrics against values worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_desktop.emotions import EMOTIONS
from trainer.metrics import classification_metrics, confusion_matrix, format_table

ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL = range(7)

# Eleven faces. Fear and surprise never occur; sad never occurs but is predicted once.
LABELS = [ANGRY, ANGRY, ANGRY, DISGUST, HAPPY, HAPPY, HAPPY, HAPPY, NEUTRAL, NEUTRAL, NEUTRAL]
PREDS = [ANGRY, ANGRY, HAPPY, SAD, HAPPY, HAPPY, HAPPY, ANGRY, NEUTRAL, NEUTRAL, HAPPY]


def probs_for(preds: list[int], seed: int = 0) -> np.ndarray:
    """Random probabilities whose argmax is ``preds``."""
    p = np.random.default_rng(seed).uniform(0, 0.1, (len(preds), 7))
    p[np.arange(len(preds)), preds] += 0.5
    return p / p.sum(1, keepdims=True)


def test_confusion_matrix_rows_are_truth_columns_predictions() -> None:
    cm = confusion_matrix(np.array(LABELS), np.array(PREDS))
    expected = np.zeros((7, 7), int)
    expected[ANGRY, ANGRY], expected[ANGRY, HAPPY] = 2, 1
    expected[DISGUST, SAD] = 1
    expected[HAPPY, HAPPY], expected[HAPPY, ANGRY] = 3, 1
    expected[NEUTRAL, NEUTRAL], expected[NEUTRAL, HAPPY] = 2, 1
    np.testing.assert_array_equal(cm, expected)


def test_metrics_on_a_hand_worked_example() -> None:
    m = classification_metrics(np.array(LABELS), probs_for(PREDS))
    assert m["n"] == 11
    # Correct: angry 2 + disgust 0 + happy 3 + neutral 2 = 7 of 11.
    assert m["accuracy"] == pytest.approx(7 / 11)
    c = m["per_class"]
    # angry: predicted 3 times (2 angry, 1 happy face), 3 angry faces -> P = 2/3, R = 2/3, F1 = 2/3.
    assert c["angry"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    # disgust: its one face is called sad, never predicted -> P = 0 (nothing predicted), R = 0/1, F1 = 0.
    assert c["disgust"] == pytest.approx({"precision": 0, "recall": 0, "f1": 0, "support": 1})
    # happy: predicted 5 times (3 happy, 1 angry, 1 neutral face), 4 happy faces -> P = 3/5, R = 3/4,
    # F1 = 2 * (3/5 * 3/4) / (3/5 + 3/4) = (9/10) / (27/20) = 2/3.
    assert c["happy"] == pytest.approx({"precision": 3 / 5, "recall": 3 / 4, "f1": 2 / 3, "support": 4})
    # neutral: predicted twice, both right; 3 neutral faces -> P = 1, R = 2/3, F1 = (4/3) / (5/3) = 4/5.
    assert c["neutral"] == pytest.approx({"precision": 1, "recall": 2 / 3, "f1": 4 / 5, "support": 3})
    # sad: no faces, predicted once (wrongly) -> P = 0/1, R and F1 0, support 0.
    assert c["sad"] == pytest.approx({"precision": 0, "recall": 0, "f1": 0, "support": 0})
    # Macro F1 over the classes that occur: (2/3 + 0 + 2/3 + 4/5) / 4 = (32/15) / 4 = 8/15.
    assert m["macro_f1"] == pytest.approx(8 / 15)
    # Detection rate over the four classes that occur: angry, happy and neutral are most often called
    # themselves; disgust is most often called sad.
    assert m["emotion_detection_rate"] == "3/4"
    assert m["confusion_matrix"] == confusion_matrix(np.array(LABELS), np.array(PREDS)).tolist()
    json.dumps(m)  # the evaluator writes it as is


def test_classes_with_zero_support_are_reported_as_zero_and_left_out_of_the_averages() -> None:
    m = classification_metrics(np.array(LABELS), probs_for(PREDS))
    for name in ("fear", "surprise"):
        assert m["per_class"][name] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert sum(c["support"] for c in m["per_class"].values()) == 11
    # Every face right on two classes: the five absent ones do not drag the macro F1 below 1.
    perfect = classification_metrics(np.array([HAPPY, HAPPY, SAD]), probs_for([HAPPY, HAPPY, SAD]))
    assert perfect["accuracy"] == 1.0 and perfect["macro_f1"] == 1.0
    assert perfect["emotion_detection_rate"] == "2/2"


def test_no_faces_at_all() -> None:
    m = classification_metrics(np.zeros(0, np.int64), np.zeros((0, 7)))
    assert (m["n"], m["accuracy"], m["macro_f1"], m["emotion_detection_rate"]) == (0, 0.0, 0.0, "0/0")


def test_format_table_shows_every_class_and_the_totals() -> None:
    table = format_table(classification_metrics(np.array(LABELS), probs_for(PREDS)))
    lines = table.splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert lines[4].split() == ["happy", "0.600", "0.750", "0.667", "4"]
    assert "accuracy 63.64% on 11 faces" in table and "macro F1 0.533" in table and "rate 3/4" in table
    # The confusion rows end the table, one per class, truth first.
    assert [line.split()[0] for line in lines[-7:]] == list(EMOTIONS)
    assert lines[-4].split()[1:] == ["1", "0", "0", "3", "0", "0", "0"]
