"""`import alphamine.numerai` stays cheap: the extras are imported only by the functions that use them."""

from __future__ import annotations

import subprocess
import sys

EXTRAS = ("lightgbm", "sklearn", "numerai_tools", "yaml")  # not cloudpickle: pyarrow imports it when installed


def test_modules_import_without_the_extras() -> None:
    code = (
        "import sys, alphamine.numerai as n\n"
        "import alphamine.numerai.data, alphamine.numerai.synth, alphamine.numerai.scoring\n"
        "import alphamine.numerai.cv, alphamine.numerai.models, alphamine.numerai.config\n"
        "import alphamine.numerai.experiment\n"
        "assert {'lgbm', 'ridge', 'linear', 'ensemble'} <= set(n.model_types())\n"
        f"print(sorted(m for m in {EXTRAS!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
