"""axe-core (bundled with axe-playwright-python, so it runs offline) on a page as the browser shows it."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = frozenset({"serious", "critical"})


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page: one line per rule, with the elements it names."""
    found = Axe().run(page).response["violations"]
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} at {[node['target'] for node in rule['nodes']]}"
        for rule in found
        if rule["impact"] in BLOCKING
    ]
