"""Naive Bayes classifiers, compiled, with River's arithmetic."""

from tidal.naive_bayes._gaussian import GaussianNB

__all__ = ["GaussianNB"]
