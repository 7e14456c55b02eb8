"""Cross-sectional (per day over instruments) and group operators.

Importing this package registers them. Reusable pure functions for the simulator (settings
neutralization) live in `alphamine.ops.cross.kernels`: `rank_rows`, `group_rank_rows`, `demean_by_group`.
"""

from alphamine.ops.cross import cross_sectional, group  # noqa: F401  (registers the operators)
from alphamine.ops.cross.kernels import demean_by_group, group_rank_rows, rank_rows

__all__ = ["demean_by_group", "group_rank_rows", "rank_rows"]
