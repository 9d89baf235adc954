"""The project: every model under `batch/models/`, what each reads, and the order to build them in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from batch.model import Model, ModelError, read_model
from batch.template import holes, words

MODELS_DIR = Path(__file__).parent / "models"


@dataclass(frozen=True)
class Project:
    """Models in dependency order (upstream first), with what each one reads."""

    models: Mapping[str, Model]
    upstream: Mapping[str, tuple[str, ...]]
    """The models each model's SQL names."""
    named: Mapping[str, frozenset[str]]
    """Every bare word of each model's SQL: among them, the input tables it reads (landing, events)."""
    left_out: frozenset[str] = frozenset()
    """Models of the whole project that a selection left out."""

    def select(self, targets: Iterable[str]) -> Project:
        """The part of the project that builds `targets`: them and everything upstream of them."""
        pending = list(targets)
        unknown = set(pending) - set(self.models)
        if unknown:
            raise ModelError(f"no model named {', '.join(sorted(unknown))}")
        chosen: set[str] = set()
        while pending:
            name = pending.pop()
            if name not in chosen:
                chosen.add(name)
                pending.extend(self.upstream[name])
        return Project(models={name: model for name, model in self.models.items() if name in chosen},
                       upstream={name: self.upstream[name] for name in chosen},
                       named={name: self.named[name] for name in chosen},
                       left_out=self.left_out | (self.models.keys() - chosen))

    def inputs(self, tables: Iterable[str]) -> dict[str, frozenset[str]]:
        """Per model, the tables of `tables` (not models) its SQL names."""
        candidates = set(tables) - set(self.models)
        return {name: words & candidates for name, words in self.named.items()}

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
    named = {name: frozenset(words(model.sql)) for name, model in models.items()}
    upstream = {name: tuple(sorted(named[name] & (models.keys() - {name}))) for name in models}
    try:
        order = list(TopologicalSorter(upstream).static_order())
    except CycleError as error:
        raise ModelError(f"models depend on each other in a cycle: {' -> '.join(error.args[1])}") from None
    return Project(models={name: models[name] for name in order}, upstream=upstream, named=named)
