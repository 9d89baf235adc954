"""Attribution: who a usage or cost event belongs to, with how we know and how sure we are.

The stream attributes with the reference data it holds now; the batch re-attributes history
with the current mappings later. Each event gets `user_email` (lowercase), `attribution_method`
and `attribution_confidence`:

- `direct_email` (1.0): the record names the person (Cursor rows, Claude Code `user_actor`).
  The normalizer fills it from the record alone; `attribute` leaves such events as they are.
- `api_key_mapping` (the mapping's own confidence): `ref.api_key_mappings` maps the event's
  `api_key_id`. Several sources may map one key (manual, sheet, sso); the highest confidence
  wins, then the source precedence manual > sso > sheet > any other, then the latest
  `updated_at`. A mapping is not gated by event time: `updated_at` says when the row changed,
  not since when the key belonged to the person, and a late mapping must fix old usage too
  (the architecture's promise). So once a mapping is known it applies to every event
  attributed from then on, whatever its event time; a tombstone retracts it.
- `api_key_creator` (0.7): no mapping, but the Anthropic key was created by a user
  (`created_by_type` user) whose email `raw.anthropic.users` knows. Creators often make keys
  for services or teammates, hence below the mappings' usual confidence.
- `api_key_name` (the key's confidence x 0.9): a Claude Code `api_actor` names a key by its
  name; the name is looked up among the Anthropic keys and the key is resolved as above
  (mapping, else creator). Names are mutable labels, hence the 0.9. When several keys share
  the name, the event is attributed only if every one of them resolves to the same person
  (with the lowest of their confidences); otherwise, or when any of them does not resolve,
  it is `unattributed`: charging someone's spend to a namesake's key is worse than leaving
  it for the batch to allocate.
- `unattributed` (0.0): everything else: Console usage (no `api_key_id`), cost report lines
  (workspace level, allocated by the batch), keys or creators the reference data lacks yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from schemas.contracts import natural_key

DIRECT_EMAIL = "direct_email"
API_KEY_MAPPING = "api_key_mapping"
API_KEY_CREATOR = "api_key_creator"
API_KEY_NAME = "api_key_name"
UNATTRIBUTED = "unattributed"

CREATOR_CONFIDENCE = 0.7
NAME_MATCH_FACTOR = 0.9
SOURCE_PRECEDENCE = {"manual": 3, "sso": 2, "sheet": 1}
API_KEY_NAME_ATTRIBUTE = "api_key_name"
"""The event attribute carrying a Claude Code `api_actor`'s key name."""

API_KEYS_TOPIC = "raw.anthropic.api_keys"
USERS_TOPIC = "raw.anthropic.users"
MEMBERS_TOPIC = "raw.cursor.members"
MAPPINGS_TOPIC = "ref.api_key_mappings"
REFERENCE_TOPICS = frozenset({API_KEYS_TOPIC, USERS_TOPIC, MEMBERS_TOPIC, MAPPINGS_TOPIC})
"""The topics `ReferenceData` is built from."""
_GROUPED_BY = {API_KEYS_TOPIC: "name", MAPPINGS_TOPIC: "api_key_id"}
"""Reference records also looked up by a field other than their key."""


class Attribution(NamedTuple):
    """Who an event belongs to."""

    user_email: str | None
    method: str
    confidence: float


NOBODY = Attribution(None, UNATTRIBUTED, 0.0)


class ReferenceData(Protocol):
    """The reference records attribution reads; the worker serves them from its tables."""

    def api_key(self, api_key_id: str) -> Mapping[str, Any] | None:
        """The `raw.anthropic.api_keys` record of a key."""
        ...

    def user(self, user_id: str) -> Mapping[str, Any] | None:
        """The `raw.anthropic.users` record of a user."""
        ...

    def api_keys_named(self, name: str) -> Sequence[Mapping[str, Any]]:
        """Every `raw.anthropic.api_keys` record with this name."""
        ...

    def mapping(self, api_key_id: str) -> Sequence[Mapping[str, Any]]:
        """Every current `ref.api_key_mappings` record of a key, one per source."""
        ...

    def member(self, email: str) -> Mapping[str, Any] | None:
        """The `raw.cursor.members` record of an email, whatever its case."""
        ...


def attribute(events: Iterable[dict[str, Any]], reference: ReferenceData) -> None:
    """Fill `user_email`, `attribution_method` and `attribution_confidence` of `events` in place."""
    by_key: dict[str, Attribution] = {}
    by_name: dict[str, Attribution] = {}
    for event in events:
        if event["attribution_method"] == DIRECT_EMAIL:
            continue
        key_id = event["api_key_id"]
        if key_id is not None:
            found = by_key.get(key_id)
            if found is None:
                found = by_key[key_id] = key_owner(key_id, reference)
        else:
            name = event["attributes"].get(API_KEY_NAME_ATTRIBUTE)
            if name is None:
                found = NOBODY
            else:
                found = by_name.get(name)
                if found is None:
                    found = by_name[name] = key_name_owner(name, reference)
        event["user_email"], event["attribution_method"], event["attribution_confidence"] = found


def key_owner(api_key_id: str, reference: ReferenceData) -> Attribution:
    """Whose key this is: by mapping, else by creator, else nobody."""
    mappings = reference.mapping(api_key_id)
    if mappings:
        best = max(mappings, key=_mapping_rank)
        return Attribution(best["user_email"].lower(), API_KEY_MAPPING, float(best["confidence"]))
    key = reference.api_key(api_key_id)
    if key is None or key.get("created_by_type") != "user" or not key.get("created_by_id"):
        return NOBODY
    user = reference.user(key["created_by_id"])
    email = user.get("email") if user is not None else None
    return Attribution(email.lower(), API_KEY_CREATOR, CREATOR_CONFIDENCE) if email else NOBODY


def key_name_owner(name: str, reference: ReferenceData) -> Attribution:
    """Whose key a key name designates; nobody when the name is unknown or its keys disagree."""
    owners = {key_owner(key["id"], reference) for key in reference.api_keys_named(name)}
    emails = {owner.user_email for owner in owners}
    if len(emails) != 1 or None in emails:
        return NOBODY
    confidence = min(owner.confidence for owner in owners) * NAME_MATCH_FACTOR
    return Attribution(emails.pop(), API_KEY_NAME, confidence)


def _mapping_rank(mapping: Mapping[str, Any]) -> tuple[float, int, Any]:
    return float(mapping["confidence"]), SOURCE_PRECEDENCE.get(mapping["source"], 0), mapping["updated_at"]


class DictReferenceData:
    """`ReferenceData` over plain dicts, fed record by record as the compacted topics deliver them.

    Used by tests and replay tools, and handy behind the worker's tables: `update` applies one
    Kafka record of a `REFERENCE_TOPICS` topic (a None record is a tombstone and deletes its key).
    """

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Mapping[str, Any]]] = {topic: {} for topic in REFERENCE_TOPICS}
        self._groups: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {topic: {} for topic in _GROUPED_BY}

    def update(self, topic: str, key: str | None, record: Mapping[str, Any] | None) -> None:
        """Apply a record of `topic` under its Kafka `key` (computed from the record when None)."""
        table = self._tables.get(topic)
        if table is None:
            raise ValueError(f"{topic} is not reference data; expected one of {', '.join(sorted(REFERENCE_TOPICS))}")
        if key is None:
            if record is None:
                raise ValueError(f"{topic}: a tombstone needs its key")
            key = natural_key(topic, record)
        if topic == MEMBERS_TOPIC:
            key = key.lower()
        old = table.pop(key, None)
        if old is not None:
            self._regroup(topic, key, old, None)
        if record is not None:
            table[key] = record
            self._regroup(topic, key, None, record)

    def _regroup(self, topic: str, key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        field = _GROUPED_BY.get(topic)
        if field is None:
            return
        groups = self._groups[topic]
        if old is not None and old.get(field) in groups:
            members = groups[old[field]]
            members.pop(key, None)
            if not members:
                del groups[old[field]]
        if new is not None and new.get(field) is not None:
            groups.setdefault(new[field], {})[key] = new

    def api_key(self, api_key_id: str) -> Mapping[str, Any] | None:
        """The key's record."""
        return self._tables[API_KEYS_TOPIC].get(api_key_id)

    def user(self, user_id: str) -> Mapping[str, Any] | None:
        """The user's record."""
        return self._tables[USERS_TOPIC].get(user_id)

    def api_keys_named(self, name: str) -> Sequence[Mapping[str, Any]]:
        """The keys with this name."""
        return list(self._groups[API_KEYS_TOPIC].get(name, {}).values())

    def mapping(self, api_key_id: str) -> Sequence[Mapping[str, Any]]:
        """The key's mappings, one per source."""
        return list(self._groups[MAPPINGS_TOPIC].get(api_key_id, {}).values())

    def member(self, email: str) -> Mapping[str, Any] | None:
        """The Cursor member with this email, whatever its case."""
        return self._tables[MEMBERS_TOPIC].get(email.lower())
