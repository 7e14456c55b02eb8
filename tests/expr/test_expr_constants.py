from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.expr import check

CATALOGUE = {"close": FieldInfo("close", FieldType.MATRIX, unit=Unit.PRICE)}


def test_nan_and_inf_are_constants_unless_a_field_has_that_name() -> None:
    assert check("close > 0 ? close : nan", CATALOGUE) == []
    assert check("close + inf", CATALOGUE) == []
    shadow = {**CATALOGUE, "nan": FieldInfo("nan", FieldType.GROUP)}
    assert any(d.code == "GROUP_MISUSE" or d.severity == "error" for d in check("close + nan", shadow))
