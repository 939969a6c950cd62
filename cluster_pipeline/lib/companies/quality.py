"""How well a resolution matches a known truth: pairwise precision and recall (over pairs
of rows put together), and cluster-level scores (whole organisations reproduced exactly),
since pairwise scores favour big groups."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Quality:
    rows: int
    predicted_entities: int
    true_entities: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    cluster_precision: float
    cluster_recall: float
    cluster_f1: float


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def resolution_quality(predicted: pd.Series, truth: pd.Series) -> Quality:
    """predicted and truth: an entity label per row, aligned."""
    frame = pd.DataFrame({"p": predicted.to_numpy(), "t": truth.to_numpy()})
    together = _pairs(frame.value_counts(["p", "t"]))
    predicted_pairs = _pairs(frame["p"].value_counts())
    true_pairs = _pairs(frame["t"].value_counts())
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    # an organisation is reproduced when its predicted group holds exactly its rows
    cells = frame.value_counts(["p", "t"]).reset_index(name="n")
    p_size, t_size = frame["p"].value_counts(), frame["t"].value_counts()
    exact = int(
        (
            (cells["n"].to_numpy() == p_size.reindex(cells["p"]).to_numpy())
            & (cells["n"].to_numpy() == t_size.reindex(cells["t"]).to_numpy())
        ).sum()
    )
    c_precision, c_recall = exact / len(p_size), exact / len(t_size)
    return Quality(
        len(frame),
        len(p_size),
        len(t_size),
        precision,
        recall,
        _f1(precision, recall),
        c_precision,
        c_recall,
        _f1(c_precision, c_recall),
    )
