"""The domain core imports no framework (the idea of click's tests/test_imports.py)."""

import json
import subprocess
import sys

FRAMEWORKS = ("sqlalchemy", "fastapi", "ibis", "duckdb", "pyspark", "pyarrow", "pandas", "numpy",
              "typer", "rich", "holidays", "pydantic", "starlette")


def test_importing_the_domain_loads_no_framework():
    code = (
        "import sys, json\n"
        "import makegood.domain.compensation, makegood.domain.incident_file\n"
        "import makegood.domain.policy, makegood.domain.rules, makegood.domain.windows\n"
        "import makegood.domain.screening, makegood.domain.triage\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert loaded.isdisjoint(FRAMEWORKS), loaded & set(FRAMEWORKS)
