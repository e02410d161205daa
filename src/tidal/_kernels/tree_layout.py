"""Layout of the Hoeffding tree arrays: column indices and codes shared by the tree kernels.

Nodes are rows of ``node_i`` (int64) and ``node_f`` (float64); children form linked lists
(first child, next sibling) so a multiway split can gain branches. Leaves that collect
statistics own a "slot": a row of the splitter arrays, returned to a free list when the leaf is
deactivated or split, so memory follows the number of active leaves.
"""

import math

import numpy as np

# node kinds
LEAF = 0
NUMERIC = 1
NOMINAL_BINARY = 2
NOMINAL_MULTIWAY = 3

# node_i columns
NI_FEAT = 0
NI_KIND = 1
NI_CHILD = 2  # first child
NI_SIB = 3  # next sibling
NI_DEPTH = 4
NI_SLOT = 5  # row of the splitter statistics (-1: none yet)
NI_ACTIVE = 6
NI_PARENT = 7
NI_NCHILD = 8
N_NI = 9

# node_f columns
NF_VALUE = 0  # numeric threshold or nominal value of a branch
NF_EDGE = 1  # category this node is reached by from a multiway parent
NF_LAST = 2  # weight seen at the last split attempt
NF_MC = 3  # weight correctly predicted by the majority class (nba)
NF_NB = 4  # weight correctly predicted by naive Bayes (nba)
N_NF = 5

# meta_i
MI_NNODES = 0
MI_ROOT = 1
MI_NACTIVE = 2
MI_NINACTIVE = 3
MI_GROWTH = 4
MI_NFREE = 5
MI_NEXTSLOT = 6
MI_NCLASSES = 7  # classes learned so far (codes are in order of appearance)
MI_NCATS = 8  # categories learned so far (largest nominal code + 1)
N_MI = 9

# meta_f
MF_WSEEN = 0
MF_ACTIVE_EST = 1
MF_INACTIVE_EST = 2
MF_OVERHEAD = 3
N_MF = 4

# params_f
PF_GRACE = 0
PF_DELTA = 1
PF_TAU = 2
PF_MBF = 3
PF_MSS = 4
PF_MAXBYTES = 5
PF_MEMPERIOD = 6
PF_NBTHR = 7
PF_MAXDEPTH = 8
PF_NSPLITS = 9
PF_HALF = 10
PF_TWO = 11
N_PF = 12

# params_i
PI_CRIT = 0  # 0 info_gain, 1 gini, 2 hellinger
PI_LEAF = 1  # 0 mc, 1 nb, 2 nba
PI_BINARY = 2
PI_PREPRUNE = 3
PI_POOR = 4
PI_STOPMEM = 5
PI_CODE0 = 6  # class code of label 0 (hellinger), -1 if none
PI_CODE1 = 7
PI_NBMODE = 8  # naive Bayes likelihoods: 0 River's, 1 MOA's (see tree_hoeffding._nb_proba)
N_PI = 9

# gaussian estimator fields (last axis of g)
G_N = 0
G_MEAN = 1
G_S = 2
G_MIN = 3
G_MAX = 4
G_ORD = 5  # position of the class in the splitter's dict (River's insertion order)
# cached after each update, so that naive Bayes does not recompute them for every row:
G_VAR = 6  # variance (ddof 1), 0 when undefined
G_HLOGV = 7  # 0.5 * log(variance)
G_M2VAR = 8  # -2 * variance
N_G = 9

HALF_LOG_TAU = 0.5 * math.log(math.tau)
NEG_INF = -np.inf
