"""Attribution of events through the reference data: every method, late mappings, ambiguity, casing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from streams.attribution import DictReferenceData, attribute

KEY = "apikey_01Rj2N8SVvo6BePZj99NhmiT"
CREATOR = "user_01WCz1FkmYMm4gnmykNKUu3Q"


def api_key(key_id: str = KEY, name: str = "billing-service-prod", created_by_id: str | None = CREATOR,
            created_by_type: str | None = "user") -> dict[str, Any]:
    return {"id": key_id, "name": name, "created_at": None, "created_by_id": created_by_id,
            "created_by_type": created_by_type, "status": "active", "workspace_id": None,
            "partial_key_hint": None, "raw_json": "{}"}


def user(user_id: str = CREATOR, email: str = "dana.lee@example.com") -> dict[str, Any]:
    return {"id": user_id, "email": email, "name": None, "role": "developer", "added_at": None, "raw_json": "{}"}


def mapping(email: str, source: str = "sheet", confidence: float = 0.75, key_id: str = KEY,
            updated_at: datetime = datetime(2026, 2, 20, tzinfo=UTC)) -> dict[str, Any]:
    return {"api_key_id": key_id, "user_email": email, "source": source, "confidence": confidence,
            "api_key_name": None, "note": None, "updated_at": updated_at}


def event(api_key_id: str | None = KEY, **attributes: str) -> dict[str, Any]:
    """The attribution-relevant part of a usage or cost event, as normalization leaves it."""
    return {"api_key_id": api_key_id, "attributes": attributes, "user_email": None,
            "attribution_method": "unattributed", "attribution_confidence": 0.0}


def attributed(item: dict[str, Any], reference: DictReferenceData) -> tuple[str | None, str, float]:
    attribute([item], reference)
    return item["user_email"], item["attribution_method"], item["attribution_confidence"]


@pytest.fixture
def reference() -> DictReferenceData:
    """A key created by Dana, who is an organization member."""
    data = DictReferenceData()
    data.update("raw.anthropic.api_keys", KEY, api_key())
    data.update("raw.anthropic.users", CREATOR, user())
    return data


def test_a_key_without_mapping_belongs_to_its_creator(reference: DictReferenceData) -> None:
    assert attributed(event(), reference) == ("dana.lee@example.com", "api_key_creator", 0.7)


def test_a_late_mapping_applies_from_its_arrival_and_a_tombstone_retracts_it(reference: DictReferenceData) -> None:
    early = event()
    attribute([early], reference)

    reference.update("ref.api_key_mappings", f"{KEY}|sheet", mapping("Sam.Ito@Example.com"))
    late = event()
    attribute([late], reference)

    assert (early["user_email"], early["attribution_method"]) == ("dana.lee@example.com", "api_key_creator")
    assert (late["user_email"], late["attribution_method"], late["attribution_confidence"]) == (
        "sam.ito@example.com", "api_key_mapping", 0.75)
    reference.update("ref.api_key_mappings", f"{KEY}|sheet", None)
    assert attributed(event(), reference)[1] == "api_key_creator"


def test_the_most_confident_mapping_wins_then_source_then_recency(reference: DictReferenceData) -> None:
    reference.update("ref.api_key_mappings", None, mapping("sheet@example.com", "sheet", 0.75))
    reference.update("ref.api_key_mappings", None, mapping("sso@example.com", "sso", 0.9))
    assert attributed(event(), reference) == ("sso@example.com", "api_key_mapping", 0.9)

    reference.update("ref.api_key_mappings", None, mapping("manual@example.com", "manual", 0.9))
    assert attributed(event(), reference)[0] == "manual@example.com"

    reference.update("ref.api_key_mappings", None, mapping("hr@example.com", "hr", 0.95,
                                                           updated_at=datetime(2026, 3, 1, tzinfo=UTC)))
    reference.update("ref.api_key_mappings", None, mapping("okta@example.com", "okta", 0.95))
    assert attributed(event(), reference)[0] == "hr@example.com"


@pytest.mark.parametrize("key", [
    api_key(created_by_id="user_01Former"),                           # a former employee: no user record
    api_key(created_by_type="service_account", created_by_id="svc_1"),
    api_key(created_by_id=None, created_by_type=None),
])
def test_a_key_whose_creator_is_unknown_is_unattributed(key: dict[str, Any]) -> None:
    data = DictReferenceData()
    data.update("raw.anthropic.api_keys", None, key)
    data.update("raw.anthropic.users", None, user())

    assert attributed(event(), data) == (None, "unattributed", 0.0)


def test_an_unknown_key_and_console_usage_are_unattributed(reference: DictReferenceData) -> None:
    assert attributed(event("apikey_01Unknown"), reference) == (None, "unattributed", 0.0)
    assert attributed(event(None), reference) == (None, "unattributed", 0.0)


def test_direct_emails_are_left_as_normalized(reference: DictReferenceData) -> None:
    item = {**event(None), "user_email": "dana.lee@example.com", "attribution_method": "direct_email",
            "attribution_confidence": 1.0}

    assert attributed(item, reference) == ("dana.lee@example.com", "direct_email", 1.0)


def test_a_unique_key_name_resolves_through_its_key(reference: DictReferenceData) -> None:
    named = event(None, api_key_name="billing-service-prod")

    user_email, method, confidence = attributed(named, reference)

    assert (user_email, method) == ("dana.lee@example.com", "api_key_name")
    assert confidence == pytest.approx(0.63)   # creator 0.7 x name match 0.9


def test_a_name_shared_by_keys_of_different_people_is_unattributed(reference: DictReferenceData) -> None:
    reference.update("raw.anthropic.api_keys", None, api_key("apikey_01Second", "billing-service-prod", "user_02Sam"))
    reference.update("raw.anthropic.users", None, user("user_02Sam", "sam.ito@example.com"))

    assert attributed(event(None, api_key_name="billing-service-prod"), reference) == (None, "unattributed", 0.0)


def test_a_name_shared_by_keys_of_one_person_is_attributed_at_the_lowest_confidence(
        reference: DictReferenceData) -> None:
    reference.update("raw.anthropic.api_keys", None, api_key("apikey_01Second", "billing-service-prod"))
    reference.update("ref.api_key_mappings", None, mapping("dana.lee@example.com", "sso", 1.0, "apikey_01Second"))

    user_email, method, confidence = attributed(event(None, api_key_name="billing-service-prod"), reference)

    assert (user_email, method) == ("dana.lee@example.com", "api_key_name")
    assert confidence == pytest.approx(0.63)


def test_an_unknown_key_name_is_unattributed(reference: DictReferenceData) -> None:
    assert attributed(event(None, api_key_name="nobody-has-this"), reference) == (None, "unattributed", 0.0)


def test_a_renamed_key_is_found_by_its_new_name_only(reference: DictReferenceData) -> None:
    reference.update("raw.anthropic.api_keys", KEY, api_key(name="billing-service-v2"))

    assert reference.api_keys_named("billing-service-prod") == []
    assert [key["id"] for key in reference.api_keys_named("billing-service-v2")] == [KEY]


def test_emails_are_lowercased_whatever_the_source(reference: DictReferenceData) -> None:
    reference.update("raw.anthropic.users", CREATOR, user(email="Dana.Lee@Example.COM"))
    assert attributed(event(), reference)[0] == "dana.lee@example.com"

    member = {"email": "Dana.Lee@Example.com", "name": "Dana Lee", "role": "member", "id": "7", "isRemoved": False,
              "raw_json": "{}"}
    reference.update("raw.cursor.members", None, member)
    assert reference.member("dana.lee@example.com") == member
    reference.update("raw.cursor.members", "dana.lee@EXAMPLE.com", None)
    assert reference.member("Dana.Lee@Example.com") is None


def test_only_reference_topics_are_accepted() -> None:
    data = DictReferenceData()
    with pytest.raises(ValueError, match="raw.anthropic.usage is not reference data"):
        data.update("raw.anthropic.usage", "k", {})
    with pytest.raises(ValueError, match="a tombstone needs its key"):
        data.update("raw.anthropic.users", None, None)
