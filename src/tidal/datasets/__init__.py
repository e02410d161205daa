"""Real data streams bundled with tidal (compressed), in their original time order.

Provenance and reference accuracies are in each loader's docstring and in the README.md
shipped beside the files.

>>> from tidal import datasets
>>> [d.name for d in datasets.catalog()]
['elec2', 'weather']
>>> next(datasets.elec2().rows())
({'period': 0.0, 'nswprice': 0.056443, 'nswdemand': 0.439155, 'vicprice': 0.003467,
  'vicdemand': 0.422915, 'transfer': 0.414912}, 1)
"""

from tidal.datasets._bundled import SHA256, DatasetInfo, catalog, elec2, sha256, weather

__all__ = ["SHA256", "DatasetInfo", "catalog", "elec2", "sha256", "weather"]
