"""axe-core (vendored in tests/browser/vendor) run in a Playwright page: the violations, one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def axe_violations(page: Any) -> list[str]:
    """Every axe-core violation on the page as it is now: rule, help text, how many nodes, the first."""
    # Evaluated by the driver, not added as an inline <script>: the site's policy would refuse that.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in found]
