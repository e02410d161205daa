"""tidal: online and batch learning on data streams, side by side.

Subpackages are imported on demand (``from tidal.linear_model import LogisticRegression``) so that
``import tidal`` stays fast and does not compile any numba kernel.

>>> import tidal
>>> tidal.__version__
'0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tidal")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
