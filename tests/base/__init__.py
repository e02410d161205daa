"""Tests of tidal.base (the learner protocol)."""
