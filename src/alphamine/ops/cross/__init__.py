"""Cross-sectional (per day over instruments) and group operators."""
