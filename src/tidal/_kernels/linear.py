"""Kernels of the online linear learners and their optimisers.

Each kernel runs strict test-then-train over a block: for row ``i`` it predicts ``Xp[i]`` with the
current state, then learns ``(Xl[i], y[i], sw[i])``. The arithmetic follows River 0.26 operation by
operation (same order of additions, ``** 0.5`` where River uses it, same clamps), so that
predictions agree with River's to about 1e-15 rather than "up to the optimiser".

Optimisers and schedulers are passed as a float vector ``H`` and an integer vector ``C`` (layouts
below) so one compiled kernel serves every optimiser without Python in the row loop.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from tidal._kernels import jit

# optimiser codes
SGD = 0
ADAGRAD = 1
ADAM = 2
FTRL = 3
# learning-rate scheduler codes
CONSTANT = 0
INVERSE_SCALING = 1
# GLM loss codes
LOG = 0
SQUARED = 1
HINGE = 2

# float hyper-parameters (H): optimiser part, then learner part
H_LR = 0
H_POWER = 1
H_BETA1 = 2
H_BETA2 = 3
H_EPS = 4
H_ALPHA = 5
H_BETA = 6
H_FL1 = 7
H_FL2 = 8
H_L2 = 9
H_L1 = 10
H_ILR = 11
H_IPOWER = 12
H_CLIP = 13
H_THRESHOLD = 14
# the exponents River writes as ``** 0.5``, ``** 2`` and ``** -1``: CPython evaluates them with
# libm's ``pow``, which is not always the correctly rounded ``x * x`` or ``1 / x`` that LLVM
# substitutes for a constant exponent; read from this vector, they stay calls to ``pow``
H_HALF = 15
H_TWO = 16
H_MINUS_ONE = 17
# the passive-aggressive learners' own parameters
H_PA_C = 18
H_PA_EPS = 19
N_HYPER = 20


def new_hyper():
    """A zeroed hyper-parameter vector with the exponent slots filled in."""
    H = np.zeros(N_HYPER)
    H[H_HALF] = 0.5
    H[H_TWO] = 2.0
    H[H_MINUS_ONE] = -1.0
    return H


# integer codes (C)
C_OPT = 0
C_SCHED = 1
C_ISCHED = 2
C_LOSS = 3
N_CODES = 4


@jit
def rate(code, lr, power, t):
    """River's ``Constant.get(t)`` / ``InverseScaling.get(t)``."""
    if code == INVERSE_SCALING:
        return lr / math.pow(t + 1.0, power)
    return lr


@jit
def adam_rate(lr, H, t):
    """Adam's step size at iteration ``t``: the rate with both bias corrections folded in."""
    lr = lr * (1.0 - H[H_BETA2] ** (t + 1.0)) ** H[H_HALF]
    return lr / (1.0 - H[H_BETA1] ** (t + 1.0))


@jit
def fill_rates(code, lr, power, t0, out):
    """``out[k] = rate(code, lr, power, t0 + k)``.

    Rates are computed ahead of the row loop: inside it, LLVM would evaluate the speculatable
    ``pow`` of a schedule branch on every row even for a constant rate.
    """
    if code == INVERSE_SCALING:
        for k in range(out.shape[0]):
            out[k] = lr / math.pow(t0 + k + 1.0, power)
    else:
        for k in range(out.shape[0]):
            out[k] = lr


@jit
def step_rates(H, C, t0, base, out):
    """The rate of each optimiser step from iteration ``t0`` on (``base`` holds the schedule)."""
    if C[C_OPT] == ADAM:
        for k in range(out.shape[0]):
            out[k] = adam_rate(base[k], H, t0 + k)
    else:
        for k in range(out.shape[0]):
            out[k] = base[k]


@jit
def grad(x, lg, l2, w):
    g = x * lg
    if l2 != 0.0:
        g += l2 * w
    return g


@jit
def opt_row(code, H, lr, w, a, b, x, lg, l2):
    """One optimiser step on every weight ``w[j]``, gradient ``x[j] * lg + l2 * w[j]``.

    ``a``/``b`` hold the optimiser's per-weight state. Each optimiser has its own loop so that
    no ``pow`` of another optimiser's branch is speculated inside SGD's loop.
    """
    d = w.shape[0]
    half = H[H_HALF]
    two = H[H_TWO]
    if code == SGD:
        for j in range(d):
            w[j] -= lr * grad(x[j], lg, l2, w[j])
    elif code == ADAGRAD:
        eps = H[H_EPS]
        for j in range(d):
            g = grad(x[j], lg, l2, w[j])
            a[j] += g**two
            w[j] -= lr / (a[j] + eps) ** half * g
    elif code == ADAM:
        b1 = H[H_BETA1]
        b2 = H[H_BETA2]
        eps = H[H_EPS]
        for j in range(d):
            g = grad(x[j], lg, l2, w[j])
            a[j] = b1 * a[j] + (1.0 - b1) * g
            b[j] = b2 * b[j] + (1.0 - b2) * g**two
            w[j] -= lr * a[j] / (b[j] ** half + eps)
    else:
        # FTRL-Proximal: the weight is first set from (z, n), then (z, n) absorb the gradient
        # computed with the weight from before
        alpha = H[H_ALPHA]
        beta = H[H_BETA]
        l1 = H[H_FL1]
        fl2 = H[H_FL2]
        m1 = H[H_MINUS_ONE]
        for j in range(d):
            g = grad(x[j], lg, l2, w[j])
            z = a[j]
            n = b[j]
            if abs(z) > l1:
                sign = 1.0 if z > 0 else -1.0
                w[j] = -(((beta + n**half) / alpha + fl2) ** m1) * (z - sign * l1)
            s = ((n + g**two) ** half - n**half) / alpha
            a[j] = z + (g - s * w[j])
            b[j] = n + g**two


@jit
def sgd_row(w, X, i, lr, lg):
    """``opt_row`` for plain SGD without l2 (the default): the same arithmetic, without the row
    view and the optimiser dispatch that cost more than the update itself at 20 features."""
    for j in range(w.shape[0]):
        w[j] -= lr * (X[i, j] * lg)


@jit
def l1_row(w, cum_l1, max_cum):
    """River's cumulative L1 penalty (Tsuruoka et al., 2009) after a step."""
    for j in range(w.shape[0]):
        old = w[j]
        if old > 0.0:
            w[j] = max(0.0, old - (max_cum + cum_l1[j]))
        elif old < 0.0:
            w[j] = min(0.0, old + (max_cum - cum_l1[j]))
        cum_l1[j] = cum_l1[j] + (w[j] - old)


def fma(a, b, c):
    """``a * b + c`` rounded once (pure-Python fallback for ``NUMBA_DISABLE_JIT=1``)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


@intrinsic
def _llvm_fma(typingctx, a, b, c):
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@overload(fma)
def _fma_impl(a, b, c):
    return lambda a, b, c: _llvm_fma(a, b, c)


@jit
def sq_norm_blas(X, i, H):
    """``np.linalg.norm(x) ** 2`` as River computes it for the passive-aggressive step.

    numpy's norm calls BLAS ``ddot``; OpenBLAS's x86-64 kernels accumulate fewer than 16
    values with one fused multiply-add each, in order, which this reproduces bit for bit (longer
    rows go through BLAS's SIMD blocks, which differ from this by rounding only).
    """
    s = 0.0
    for j in range(X.shape[1]):
        s = fma(X[i, j], X[i, j], s)
    # numpy takes a correctly rounded sqrt; River then squares with ``** 2`` (libm pow)
    return math.sqrt(s) ** H[H_TWO]


@jit
def dot_row(coef, X, i):
    s = 0.0
    for j in range(coef.shape[0]):
        s += coef[j] * X[i, j]
    return s


@jit
def sigmoid(x):
    """River's ``utils.math.sigmoid`` (saturates beyond +-30)."""
    if x < -30.0:
        return 0.0
    if x > 30.0:
        return 1.0
    return 1.0 / (1.0 + math.exp(-x))


@jit
def loss_gradient(loss, yi, raw, threshold):
    """d loss / d raw for River's Log, Squared and Hinge(threshold) losses."""
    if loss == SQUARED:
        return 2.0 * (raw - yi)
    ys = -1.0 if yi == 0.0 else 1.0
    if loss == HINGE:
        if ys * raw <= threshold:
            return -ys
        return 0.0
    z = raw * ys
    if z < -18.0:
        return -ys
    # one exp call whichever branch is taken (both would be evaluated speculatively)
    e = math.exp(-z if z > 18.0 else z)
    if z > 18.0:
        return e * -ys
    return -ys / (e + 1.0)


@jit
def _write(out, i, raw, loss):
    if loss == SQUARED:
        out[i, 0] = raw
    else:
        p = sigmoid(raw)
        out[i, 0] = 1.0 - p
        out[i, 1] = p


@jit
def glm_step(Xp, Xl, do_pred, do_learn, same, y, sw, out, coef, acc, cum_l1, scal, H, C):
    """Generalised linear model (River's ``GLM.learn_one``), test-then-train per row.

    ``scal`` is ``[intercept, n_iterations, max_cum_l1]``; ``acc`` is the (2, d) optimiser state.
    ``same`` says ``Xp`` and ``Xl`` are the same matrix, so the prediction's dot product is reused.
    Allocates three rate vectors per block, nothing per row.
    """
    n = out.shape[0]
    loss = C[C_LOSS]
    opt = C[C_OPT]
    l1 = H[H_L1]
    l2 = H[H_L2]
    clip = H[H_CLIP]
    a = acc[0]
    b = acc[1]
    m = n if do_learn else 0
    t0 = scal[1]
    base = np.empty(m + 1)
    fill_rates(C[C_SCHED], H[H_LR], H[H_POWER], t0, base)
    lrs = np.empty(m)
    step_rates(H, C, t0, base, lrs)
    ilrs = np.empty(m)
    fill_rates(C[C_ISCHED], H[H_ILR], H[H_IPOWER], t0, ilrs)
    for i in range(n):
        raw = 0.0
        if do_pred:
            raw = dot_row(coef, Xp, i) + scal[0]
            _write(out, i, raw, loss)
        if not do_learn:
            continue
        if not (do_pred and same):
            raw = dot_row(coef, Xl, i) + scal[0]
        lg = loss_gradient(loss, y[i], raw, H[H_THRESHOLD])
        lg *= sw[i]
        lg = max(min(lg, clip), -clip)
        scal[0] -= ilrs[i] * lg
        if opt == SGD and l2 == 0.0:
            sgd_row(coef, Xl, i, lrs[i], lg)
        else:
            opt_row(opt, H, lrs[i], coef, a, b, Xl[i], lg, l2)
        scal[1] += 1.0
        if l1 != 0.0:
            # River adds the penalty after the step, with the rate of the next iteration
            scal[2] = scal[2] + l1 * base[i + 1]
            l1_row(coef, cum_l1, scal[2])


@jit
def _softmax_proba(W, X, i, k_act, p):
    biggest = -np.inf
    for k in range(k_act):
        p[k] = dot_row(W[k], X, i)
        if p[k] > biggest:
            biggest = p[k]
    total = 0.0
    for k in range(k_act):
        p[k] = math.exp(p[k] - biggest)
        total += p[k]
    for k in range(k_act):
        p[k] /= total


@jit
def softmax_step(Xp, Xl, do_pred, do_learn, same, y, sw, out, W, acc, n_iter, active, H, C):
    """River's ``SoftmaxRegression``: one weight row and one optimiser state per class.

    ``active[0]`` counts the classes learned so far (codes come in order of first appearance);
    ``n_iter[k]`` is class ``k``'s own optimiser iteration count, as River deep-copies the
    optimiser per class.
    """
    n = out.shape[0]
    K = W.shape[0]
    opt = C[C_OPT]
    l2 = H[H_L2]
    p = np.zeros(K)
    for i in range(n):
        k_act = active[0]
        if do_pred and k_act > 0:
            _softmax_proba(W, Xp, i, k_act, p)
            for k in range(k_act):
                out[i, k] = p[k]
        if not do_learn:
            continue
        if k_act > 0 and not (do_pred and same):
            _softmax_proba(W, Xl, i, k_act, p)
        c = y[i]
        if c >= k_act:
            for k in range(k_act, c + 1):
                p[k] = 0.0
            active[0] = c + 1
        for k in range(active[0]):
            pk = max(min(p[k], 1.0 - 1e-15), 1e-15)
            lk = 1.0 * (pk - (1.0 if k == c else 0.0))
            lk *= sw[i]
            t = n_iter[k]
            lr = rate(C[C_SCHED], H[H_LR], H[H_POWER], t)
            if opt == ADAM:
                lr = adam_rate(lr, H, t)
            opt_row(opt, H, lr, W[k], acc[0, k], acc[1, k], Xl[i], lk, l2)
            n_iter[k] = t + 1.0


@jit
def pa_step(Xp, Xl, do_pred, do_learn, same, y, sw, out, coef, scal, H, classify, mode, fit_b):
    """River's passive-aggressive classifier (hinge) and regressor (epsilon-insensitive hinge).

    ``scal[0]`` is the intercept; ``H`` holds ``C`` and ``eps`` (``H_PA_*``). The regressor's
    loss compares the prediction with ``2y - 1``, exactly as River 0.26's ``PARegressor`` does.
    """
    n = out.shape[0]
    d = coef.shape[0]
    C_ = H[H_PA_C]
    eps = H[H_PA_EPS]
    for i in range(n):
        raw = 0.0
        if do_pred:
            raw = dot_row(coef, Xp, i) + scal[0]
            if classify:
                p = sigmoid(raw)
                out[i, 0] = 1.0 - p
                out[i, 1] = p
            else:
                out[i, 0] = raw
        if not do_learn:
            continue
        if not (do_pred and same):
            raw = dot_row(coef, Xl, i) + scal[0]
        if classify:
            ys = 1.0 if y[i] != 0.0 else -1.0
            loss = max(1.0 - ys * raw, 0.0)
        else:
            loss = max(abs(raw - (y[i] * 2.0 - 1.0)) - eps, 0.0)
        norm2 = sq_norm_blas(Xl, i, H)
        if mode == 2:
            tau = loss / (norm2 + 0.5 / C_)
        elif norm2 > 0.0:
            tau = loss / norm2 if mode == 0 else min(C_, loss / norm2)
        else:
            tau = 0.0
        if classify:
            step = tau * ys
        else:
            diff = y[i] - raw
            step = tau * (1.0 if diff > 0 else (-1.0 if diff < 0 else 0.0))
        step *= sw[i]
        for j in range(d):
            coef[j] += step * Xl[i, j]
        if fit_b:
            scal[0] += step
