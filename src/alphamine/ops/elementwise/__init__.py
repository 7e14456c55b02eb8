"""Element-wise operators: arithmetic, logical, vector reductions, bucketing and tails.

Importing this package registers them (each module declares its operators beside their kernels).
"""

from alphamine.ops.elementwise import arithmetic, functions, logical, masking, transform, vector

__all__ = ["arithmetic", "functions", "logical", "masking", "transform", "vector"]
