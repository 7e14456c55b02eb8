"""alphamine: turns ideas into checked, simulated, remembered and reported formulaic alphas."""

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel

__version__ = "0.1.0"

__all__ = ["FieldInfo", "FieldType", "Panel", "Unit", "__version__"]
