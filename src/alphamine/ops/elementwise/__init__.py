"""Element-wise operators: arithmetic, logical, vector reductions, bucketing and tails."""
