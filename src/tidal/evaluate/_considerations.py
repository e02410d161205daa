"""The five considerations users weigh, as one compact table with a column per family.

Rows: training complexity, training time, computational power, use in production,
scalability. Columns: the representative of each family (its best learner on the steady state).
Cells are short phrases whose numbers are citations (:class:`tidal.evaluate._words.Cite`).
"""

from __future__ import annotations

from typing import Any

from tidal.evaluate._words import Cite

__all__ = ["QUESTIONS", "considerations", "table_text"]

QUESTIONS = (
    "Training complexity",
    "Training time",
    "Computational power",
    "Use in production",
    "Scalability",
)


def considerations(say: Cite, names: dict[str, str], results: Any) -> dict[str, dict[str, str]]:
    """``{question: {"family (learner)": cell}}`` for the families' representatives.

    >>> say = Cite({"lr": {"family": "online", "retrains": 0, "train_s": 0.0, "cpu_s": 0.4,
    ...   "peak_model_bytes": 2048, "staleness_mean": 0.0, "bytes_kept": 0,
    ...   "latency_s_per_row": 2e-6}})
    >>> considerations(say, {"online": "lr"}, None)["Computational power"]
    {'online (lr)': '400 ms CPU, 2.0 KiB model'}
    """
    out: dict[str, dict[str, str]] = {q: {} for q in QUESTIONS}
    for fam, n in names.items():
        col = f"{fam} ({n})"
        c = say.cite
        if fam == "online":
            out["Training complexity"][col] = "learns each row once, in place"
            out["Training time"][col] = "none apart (inside its CPU)"
            out["Use in production"][col] = f"{c(n, 'staleness_mean')} behind; learns bad rows too"
            out["Scalability"][col] = f"{c(n, 'latency_s_per_row')}/row; flat memory"
        else:
            out["Training complexity"][col] = f"{c(n, 'retrains')} full refits on a window"
            out["Training time"][col] = f"{c(n, 'train_s')} in refits (background)"
            out["Use in production"][col] = (
                f"{c(n, 'staleness_mean')} behind; reviewable; keeps {c(n, 'bytes_kept')}"
            )
            out["Scalability"][col] = f"{c(n, 'latency_s_per_row')}/row; refits grow with window"
        out["Computational power"][col] = f"{c(n, 'cpu_s')} CPU, {c(n, 'peak_model_bytes')} model"
    return out


def table_text(answers: dict[str, dict[str, str]]) -> str:
    """The considerations as a fixed-width text table.

    >>> print(table_text({"Training time": {"online (lr)": "1 s", "batch (b)": "20 s"}}))
                   | online (lr) | batch (b)
    Training time  | 1 s         | 20 s
    """
    cols = list(next(iter(answers.values()), {}))
    first = max(len(q) for q in answers) + 1
    widths = [max([len(c)] + [len(a.get(c, "")) for a in answers.values()]) for c in cols]
    lines = [" " * first + " | " + " | ".join(c.ljust(w) for c, w in zip(cols, widths))]
    for q, row in answers.items():
        cells = " | ".join(row.get(c, "").ljust(w) for c, w in zip(cols, widths))
        lines.append(q.ljust(first) + " | " + cells)
    return "\n".join(line.rstrip() for line in lines)
