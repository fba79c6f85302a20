"""The support console in a real browser: search, timeline, approve, retry; screenshots for
the README (docs/screenshots/)."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import APPROVE, OPERATE, READ, SupportStack, support_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    with support_stack(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
def page(browser: Any, stack: SupportStack) -> Iterator[Any]:
    """A signed-in console tab (token in sessionStorage, as a person would paste it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{stack.host.url}/api/support/console")
    tab.fill("#token", stack.token(READ, OPERATE, APPROVE, name="kim@support.example"))
    tab.click("#token-form button")
    tab.wait_for_selector("#who:has-text('kim@support.example')")
    yield tab
    context.close()


def _shot(tab: Any, name: str) -> None:
    """Every run takes the screenshots; `UPDATE_SCREENSHOTS=1` keeps them for the README."""
    folder = DOCS_SHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else _scratch()
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / "crosswalk-console-screenshots"


def test_without_a_token_the_console_asks_to_sign_in(browser, stack):
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{stack.host.url}/api/support/console")

    tab.wait_for_selector("#signin:not([hidden])")
    assert tab.inner_text("#who") == "not signed in"
    context.close()


def test_search_an_account_and_read_its_timeline(page, stack):
    account = next(stack.plain)
    assert stack.finished(stack.onboard(account["Id"]))["output"]["outcome"] == "synced"
    email = stack.get(f"records/{account['Id']}", APPROVE).json()["profile"]["primary_email"]

    page.fill("#search-key", email)
    page.press("#search-key", "Enter")
    page.wait_for_selector("[data-testid=record-title]")

    assert account["Name"] in page.inner_text("[data-testid=record-title]")
    assert page.inner_text("[data-testid=sync-status]") == "synced"
    timeline = page.inner_text("[data-testid=timeline]")
    assert "did d2c_create_customer" in timeline and "onboarding -> synced" in timeline
    assert "d2c_invite_user" in page.inner_text("[data-testid=ledger]")
    assert page.inner_text("[data-testid=email]") == email
    people = page.inner_text("[data-testid=people]")
    assert email in people and "primary" in people and "salesforce" in people
    _shot(page, "record")


def test_approve_a_waiting_onboarding_and_see_it_complete(page, stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    page.click("nav a[data-nav=approvals]")
    row = page.locator("tr", has_text=account["Id"])
    row.wait_for()
    _shot(page, "approvals")
    row.locator("input").fill("known customer, checked the contract")
    row.locator("button", has_text="approve").click()
    page.wait_for_selector("[data-testid=flash]:has-text('approve sent')")
    status = stack.finished(instance_id)

    assert status["output"]["outcome"] == "synced"
    page.goto(f"{stack.host.url}/api/support/console#/record/{account['Id']}")
    page.wait_for_selector("[data-testid=sync-status]:has-text('synced')")
    assert "approve by kim@support.example" in page.inner_text("[data-testid=timeline]")


def test_retry_a_failed_onboarding_from_its_record_page(page, stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "failed"

    page.click("nav a[data-nav=failed]")
    page.locator("tr", has_text=account["Id"]).locator("a").click()
    page.wait_for_selector("[data-testid=sync-status]:has-text('failed')")
    _shot(page, "failed-record")
    page.fill("#action-reason", "D2C was down; retrying")
    page.click("[data-testid=retry]")
    page.wait_for_selector("[data-testid=flash]:has-text('retry started (restart)')")

    assert stack.finished(instance_id + "-r1")["output"]["outcome"] == "synced"
    page.reload()
    page.wait_for_selector("[data-testid=sync-status]:has-text('synced')")
    page.click("nav a[data-nav=audit]")
    page.wait_for_selector("td:has-text('D2C was down; retrying')")
    _shot(page, "audit")


def test_the_front_page_says_what_waits_for_a_person_and_links_to_it(page, stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    assert stack.finished(stack.onboard(account["Id"]))["output"]["outcome"] == "failed"

    page.goto(f"{stack.host.url}/api/support/console#/")
    page.reload()
    failed = page.locator("[data-testid=attention] a", has_text="failed onboarding(s)")
    failed.wait_for()
    _shot(page, "home")
    failed.click()

    page.wait_for_selector(f"tr:has-text('{account['Id']}')")
    assert page.url.endswith("#/list/failed")


def test_finish_a_half_done_undo_from_the_record_page(page, stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    stack.sb.faults("d2c", path=r"/deactivate$", method="POST", status=503, fail_next=2)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "needs_attention"

    page.goto(f"{stack.host.url}/api/support/console#/record/{account['Id']}")
    page.wait_for_selector("[data-testid=sync-status]:has-text('needs_attention')")
    page.fill("#action-reason", "D2C is back up")
    page.click("[data-testid=finish-undo]")
    page.wait_for_selector("[data-testid=flash]:has-text('undo started: d2c_deactivate_customer')")

    assert stack.finished(f"support-undo-{instance_id}")["output"]["outcome"] == "compensated"
    page.reload()
    page.wait_for_selector("[data-testid=sync-status]:has-text('compensated')")


def test_a_reader_sees_personal_data_masked(browser, stack):
    account = next(stack.plain)
    stack.finished(stack.onboard(account["Id"]))
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{stack.host.url}/api/support/console")
    tab.fill("#token", stack.token(READ, name="lee@support.example"))
    tab.click("#token-form button")
    tab.wait_for_selector("#who:has-text('personal data masked')")

    tab.goto(f"{stack.host.url}/api/support/console#/record/{account['Id']}")
    tab.wait_for_selector("[data-testid=email]")

    assert "***@" in tab.inner_text("[data-testid=email]")
    assert (
        tab.locator("[data-testid=retry]").count() + tab.locator("[data-testid=cancel]").count()
        <= 1
    )
    context.close()


LONG_NAME = (
    "Donaudampfschifffahrtsgesellschaftsbeteiligungsverwaltungsholdingaktiengesellschaft "
    "International Trading and Logistics Services of Northern and Central Europe"
)
LONG_LOCAL_PART = "procurement.headofstrategicpurchasing.emea"  # Salesforce allows 80 in all


@pytest.fixture(scope="module")
def long_record(stack: SupportStack) -> str:
    """A synced record whose name, e-mail and ids are as long as real ones get."""
    account = next(stack.plain)
    (contact,) = [
        c
        for c in stack.sb.salesforce_records("Contact")
        if c["AccountId"] == account["Id"] and c["Primary_Contact__c"]
    ]
    domain = contact["Email"].split("@", 1)[1]
    stack.sb.salesforce_edit("Account", account["Id"], {"Name": LONG_NAME})
    stack.sb.salesforce_edit("Contact", contact["Id"], {"Email": f"{LONG_LOCAL_PART}@{domain}"})
    assert stack.finished(stack.onboard(account["Id"]))["output"]["outcome"] == "synced"
    return account["Id"]


OVERFLOWING = """() => {
  const out = [];
  for (const box of document.querySelectorAll('main .card, main table, main h1, header')) {
    const edge = box.getBoundingClientRect().right;
    for (const el of [box, ...box.querySelectorAll('*')]) {
      const r = el.getBoundingClientRect();
      const spills = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
      if (r.width > 0 && (r.right > edge + 1 || spills))
        out.push(`${el.tagName.toLowerCase()} ${el.textContent.slice(0, 30)}`);
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_long_names_emails_and_ids_stay_inside_the_record_page(browser, stack, long_record, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{stack.host.url}/api/support/console")
    long_name = f"{LONG_LOCAL_PART}@support.example"
    tab.fill("#token", stack.token(READ, OPERATE, APPROVE, name=long_name))
    tab.click("#token-form button")
    tab.wait_for_selector("#who:has-text('procurement')")

    tab.goto(f"{stack.host.url}/api/support/console#/record/{long_record}")
    tab.wait_for_selector("[data-testid=sync-status]:has-text('synced')")

    assert tab.inner_text("[data-testid=email]").startswith(LONG_LOCAL_PART)
    assert tab.evaluate(OVERFLOWING) == []
    context.close()


def test_dead_letters_are_reached_from_the_front_page_and_replayed_from_their_page(page, stack):
    name = f"CROSSWALK-D2C/2026/3/4/9/{uuid.uuid4()}.json"
    blob = stack.data / "eventgrid-deadletter" / name  # beside LAKE_FOLDER, where the app reads
    blob.parent.mkdir(parents=True, exist_ok=True)
    event = {"id": "evt-browser", "source": "/d2c/customers", "specversion": "1.0",
             "type": "customer.registered", "subject": "customers/cus_x", "data": {},
             "deadletterreason": "MaxDeliveryAttemptsExceeded", "deliveryattempts": 30,
             "lastdeliveryoutcome": "Busy", "lasthttpstatuscode": 503}  # fmt: skip
    blob.write_text(json.dumps([event]))

    page.goto(f"{stack.host.url}/api/support/console#/")
    page.reload()
    page.locator("[data-testid=attention] a", has_text="dead-lettered").click()
    page.wait_for_selector("[data-testid=dead-letters] tr:has-text('evt-browser')")
    _shot(page, "deadletters")
    page.check(f"[aria-label='replay {name}']")
    page.fill("#replay-reason", "endpoint is back")
    page.click("[data-testid=replay]")

    # this stack has no D2C topic endpoint: the replay is refused and the blob kept
    page.wait_for_selector("[data-testid=flash]:has-text('refused 1')")
    assert blob.exists()
