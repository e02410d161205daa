"""Read-only views of a compiled tree: sizes, text and Graphviz renderings, importances."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import tree_hoeffding as K
from tidal.base import NotFittedError

__all__ = ["TreeView"]


class TreeView:
    """Mixin for learners whose fitted tree lives in ``self._tree`` (the kernel's arrays)."""

    _tree: dict[str, np.ndarray]
    feature_names_in_: tuple[str, ...]

    def _tree_or_none(self) -> dict[str, np.ndarray] | None:
        return getattr(self, "_tree", None) if getattr(self, "feature_names_in_", None) else None

    def _n(self) -> int:
        s = self._tree_or_none()
        return 0 if s is None else int(s["meta_i"][K.MI_NNODES])

    @property
    def n_nodes(self) -> int:
        """Number of nodes (branches and leaves); 0 before anything was learned."""
        return self._n()

    @property
    def n_leaves(self) -> int:
        n = self._n()
        return int((self._tree["node_i"][:n, K.NI_KIND] == K.LEAF).sum()) if n else 0

    @property
    def n_active_leaves(self) -> int:
        return int(self._tree["meta_i"][K.MI_NACTIVE]) if self._n() else 0

    @property
    def n_inactive_leaves(self) -> int:
        return int(self._tree["meta_i"][K.MI_NINACTIVE]) if self._n() else 0

    @property
    def depth(self) -> int:
        """Depth of the deepest leaf (a lone root leaf has depth 0)."""
        n = self._n()
        return int(self._tree["node_i"][:n, K.NI_DEPTH].max()) if n else 0

    @property
    def feature_importances_(self) -> np.ndarray:
        """Share of the splits made on each feature (in ``feature_names_in_`` order)."""
        if self._tree_or_none() is None:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet")
        n = self._n()
        ni = self._tree["node_i"][:n]
        feats = ni[ni[:, K.NI_KIND] != K.LEAF, K.NI_FEAT]
        counts = np.bincount(feats, minlength=len(self.feature_names_in_)).astype(np.float64)
        total = counts.sum()
        return counts / total if total > 0 else counts

    # ------------------------------------------------------------------ rendering
    def _category(self, f: int, code: float) -> Any:
        name = self.feature_names_in_[f]
        table: dict = {}
        for enc in (getattr(self, "_value_codes", None), getattr(self, "_categories", None)):
            if enc is not None and name in enc.codes:
                table = enc.codes[name]
        for value, c in table.items():
            if c == int(code):
                return value.item() if isinstance(value, np.generic) else value
        return int(code)

    def _conditions(self, k: int) -> list[str]:
        ni, nf = self._tree["node_i"], self._tree["node_f"]
        f = int(ni[k, K.NI_FEAT])
        name = self.feature_names_in_[f]
        kind = ni[k, K.NI_KIND]
        if kind == K.NUMERIC:
            t = f"{nf[k, K.NF_VALUE]:.6g}"
            return [f"{name} <= {t}", f"{name} > {t}"]
        if kind == K.NOMINAL_BINARY:
            v = self._category(f, nf[k, K.NF_VALUE])
            return [f"{name} == {v!r}", f"{name} != {v!r}"]
        return [f"{name} == {self._category(f, nf[ch, K.NF_EDGE])!r}" for ch in self._children(k)]

    def _children(self, k: int) -> list[int]:
        ni = self._tree["node_i"]
        out = []
        ch = int(ni[k, K.NI_CHILD])
        while ch >= 0:
            out.append(ch)
            ch = int(ni[ch, K.NI_SIB])
        return out

    def _leaf_text(self, k: int) -> str:
        stats = self._tree["stats"][k]
        present = self._tree["present"][k].astype(bool)
        labels = getattr(self, "_labels", [])
        total = float(stats[present].sum())
        if not present.any() or total <= 0:
            return "predicts nothing (n=0)"
        c = int(np.argmax(np.where(present, stats, -np.inf)))
        state = "" if self._tree["node_i"][k, K.NI_ACTIVE] == 1 else ", inactive"
        return f"predicts {labels[c]!r} (n={total:.6g}, p={stats[c] / total:.3f}{state})"

    def to_text(self, max_depth: int | None = None) -> str:
        """The tree as indented text, one line per branch condition (scikit-learn style)."""
        if not self._n():
            return "(empty tree)"
        root = int(self._tree["meta_i"][K.MI_ROOT])
        lines: list[str] = []

        def walk(k: int, indent: str, depth: int) -> None:
            for cond, ch in zip(self._conditions(k), self._children(k)):
                if self._tree["node_i"][ch, K.NI_KIND] == K.LEAF:
                    lines.append(f"{indent}{cond}: {self._leaf_text(ch)}")
                elif max_depth is not None and depth + 1 > max_depth:
                    lines.append(f"{indent}{cond}: ...")
                else:
                    lines.append(f"{indent}{cond}")
                    walk(ch, indent + "|   ", depth + 1)

        if self._tree["node_i"][root, K.NI_KIND] == K.LEAF:
            return self._leaf_text(root)
        walk(root, "", 0)
        return "\n".join(lines)

    def to_dot(self) -> str:
        """The tree in Graphviz DOT format (render with ``dot -Tsvg``)."""
        out = ["digraph tree {", '  node [shape=box, fontname="helvetica"];']
        if self._n():
            stack = [int(self._tree["meta_i"][K.MI_ROOT])]
            while stack:
                k = stack.pop()
                if self._tree["node_i"][k, K.NI_KIND] == K.LEAF:
                    out.append(f'  n{k} [label="{_esc(self._leaf_text(k))}"];')
                    continue
                f = int(self._tree["node_i"][k, K.NI_FEAT])
                out.append(f'  n{k} [label="{_esc(self.feature_names_in_[f])}"];')
                for cond, ch in zip(self._conditions(k), self._children(k)):
                    out.append(f'  n{k} -> n{ch} [label="{_esc(cond)}"];')
                    stack.append(ch)
        out.append("}")
        return "\n".join(out)


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')
