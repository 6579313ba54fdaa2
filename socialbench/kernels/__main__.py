"""``python -m socialbench.kernels``: compile every kernel now (an install step), so that
the first archive run does not pay for it."""

from socialbench.kernels import warm

warm.main()
