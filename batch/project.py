"""The project: every model under `batch/models/`, what each reads, and the order to build them in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from batch.model import Model, ModelError, read_model
from batch.template import holes, words

MODELS_DIR = Path(__file__).parent / "models"
LANDING_PREFIX = "raw_"
"""Landing tables (`raw_*`, one per raw/reference topic) are the inputs models read."""


@dataclass(frozen=True)
class Project:
    """Models in dependency order (upstream first), with what each one reads."""

    models: Mapping[str, Model]
    upstream: Mapping[str, tuple[str, ...]]
    """The models each model's SQL names."""
    landing: Mapping[str, tuple[str, ...]]
    """The landing tables each model's SQL names."""

    def fingerprints(self, variables: Mapping[str, str]) -> dict[str, str]:
        """Per model, a hash of its SQL, metadata, the variable values it uses and its upstream hashes.

        A model whose fingerprint changed since it was built is rebuilt in full; through the
        upstream hashes, so is everything downstream of it.
        """
        prints: dict[str, str] = {}
        for name, model in self.models.items():
            content = {
                "sql": model.sql,
                "meta": model.meta.model_dump(mode="json"),
                "values": {hole: variables[hole] for hole in sorted(holes(model.sql)) if hole in variables},
                "upstream": [prints[parent] for parent in self.upstream[name]],
            }
            prints[name] = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
        return prints


def load_project(directory: Path = MODELS_DIR) -> Project:
    """Read every `*.sql` model under `directory` and order them by dependency."""
    models: dict[str, Model] = {}
    for path in sorted(directory.rglob("*.sql")):
        model = read_model(path)
        if model.name in models:
            raise ModelError(f"{path}: a model named {model.name} already exists ({models[model.name].path})")
        models[model.name] = model
    upstream: dict[str, tuple[str, ...]] = {}
    landing: dict[str, tuple[str, ...]] = {}
    for name, model in models.items():
        named = words(model.sql)
        upstream[name] = tuple(sorted(named & (models.keys() - {name})))
        landing[name] = tuple(sorted(word for word in named if word.startswith(LANDING_PREFIX)))
    try:
        order = list(TopologicalSorter(upstream).static_order())
    except CycleError as error:
        raise ModelError(f"models depend on each other in a cycle: {' -> '.join(error.args[1])}") from None
    return Project(models={name: models[name] for name in order}, upstream=upstream, landing=landing)
