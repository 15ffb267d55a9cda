"""Golden SQL of every template and of the DDL: regenerate with ``python -m tests.golden`` (never by hand).

The files under tests/golden/ are what `render` prints for fixed inputs; a diff in review shows exactly how
a change to a template or to the renderer changes the SQL users paste into the console.
"""

from __future__ import annotations

from pathlib import Path

from smtrail_sql import ddl
from smtrail_sql.render import render
from smtrail_sql.settings import TableSettings
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.sample_params import all_params

GOLDEN_DIR = Path(__file__).parent / "golden"
WINDOW = TimeWindow.parse(since="2024-05-01", until="2024-05-08")
SETTINGS = TableSettings.create(bucket="example-trail-bucket", prefix="audit", org_id="o-exampleorg1",
                                accounts="123456789012,210987654321", regions="us-east-1,eu-west-1",
                                start_date="2024-01-01")


def expected_files() -> dict[str, str]:
    """File name -> content of every golden file."""
    files: dict[str, str] = {}
    for template in TemplateLibrary.load():
        rendered = render(template, all_params(template), window=WINDOW)
        files[f"{template.name}.athena.sql"] = rendered.to_sql("athena") + ";\n"
        files[f"{template.name}.duckdb.sql"] = rendered.to_sql("duckdb") + ";\n"
    files["ddl.athena.sql"] = ddl.script(ddl.render_all(SETTINGS, comments=True))
    return files


def main() -> None:
    """Rewrite tests/golden/ from the current templates and renderer."""
    GOLDEN_DIR.mkdir(exist_ok=True)
    expected = expected_files()
    for stale in GOLDEN_DIR.glob("*.sql"):
        if stale.name not in expected:
            stale.unlink()
    for name, content in expected.items():
        (GOLDEN_DIR / name).write_text(content)
    print(f"wrote {len(expected)} golden files to {GOLDEN_DIR}")


if __name__ == "__main__":
    main()
