"""The market panel and everything that builds one (loaders, bundled sample, synthetic markets)."""

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel

__all__ = ["DataError", "FieldInfo", "FieldType", "Panel", "Unit"]
