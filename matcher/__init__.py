"""Cầu Nối's engine: taxonomy, places, import validation, matching — no Flask, no SQLAlchemy."""

import os

# GNU OpenMP threads spin while they wait for work. On two cores shared with gunicorn workers
# or another job, spinning made HistGradientBoosting fits ~100x slower (measured: 188 s
# against 1.4 s for the same fit); passive waiting costs almost nothing. It must be set
# before scikit-learn loads the OpenMP runtime, hence here, the first module any caller runs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
