"""The learner protocol shared by every online, batch and hybrid learner.

A subclass implements three hooks and gets the River face (``learn_one``...), the array face
(``learn_many``, ``step_many``...), the scikit-learn face (``fit``, ``partial_fit``...) and state
(de)serialisation for free:

``_init_state(self)``
    allocate state once the feature set is fixed (``self.n_features_in_`` is known).
``_step_arrays(self, X_pred, X_learn, y, w, out)``
    the compiled per-row loop. For each row ``i``: if ``X_pred`` is not None, write the
    prediction for ``X_pred[i]`` into ``out[i]``; then, if ``X_learn`` is not None, learn
    ``(X_learn[i], y[i], w[i])``. ``out`` is a probability matrix (classifiers, columns in
    internal code order) or a vector of values (regressors). The two matrices differ only inside
    pipelines, where a transformer may update between the prediction and the learning of a row.
``_state_dict(self)`` / ``_load_state(self, state)``
    the fitted state as a (nested) dict of numpy arrays and JSON scalars.

What every face returns (see :class:`Classifier` for the details):

* ``classes_`` is sorted (scikit-learn's ``np.unique`` order) and the columns of the array and
  scikit-learn faces' probability matrices follow it; internal codes and ``predict_proba_one``
  keep first-seen order.
* ``predict_many`` / ``step_many`` return typed arrays on every row: before the first label a
  classifier predicts the zero of its labels' type (0, False, "": fixed before any label, as
  MOA predicts class 0) and a regressor 0.0.
  ``predict_one`` answers None (classifiers) / 0.0 (regressors) before anything is learned.
"""

from tidal.base._classifier import Classifier
from tidal.base._learner import Learner
from tidal.base._regressor import Regressor
from tidal.base._transformer import Transformer

__all__ = ["Learner", "Classifier", "Regressor", "Transformer"]
