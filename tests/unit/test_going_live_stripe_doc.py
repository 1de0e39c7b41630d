"""docs/going-live-stripe.md tells an operator to create the webhook endpoint with the version and the events
the code reads; it must not drift from the code."""

from pathlib import Path

from everypenny.adapters.payments.stripe_events import STRIPE_EVENTS
from everypenny.config import STRIPE_API_VERSION

GUIDE = (Path(__file__).parents[2] / "docs" / "going-live-stripe.md").read_text()


def test_the_guide_creates_the_endpoint_with_the_pinned_api_version():
    assert f"-d api_version={STRIPE_API_VERSION}" in GUIDE


def test_the_guide_subscribes_the_endpoint_to_every_event_we_handle_and_no_other():
    subscribed = {line.split("enabled_events[]=")[1].rstrip('" \\')
                  for line in GUIDE.splitlines() if "enabled_events[]=" in line}
    assert subscribed == set(STRIPE_EVENTS)
