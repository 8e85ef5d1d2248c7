"""Every registry keyed by change type says, for each type in ``CHANGE_TYPES``, whether it
handles it or deliberately ignores it.

A registry is a table keyed by public change type (``contract.changes.CHANGE_TYPES``):
the roadmap's transitions, the audit's sentences, the diff's steps, the roadmap-change
derivers, the contract's summaries. Each declares next to it the types it ignores
(``IGNORED``, with a reason per group). A change type added to ``CHANGE_TYPES`` fails
here, naming each registry that neither handles nor ignores it.
"""

from collections.abc import Collection
from dataclasses import dataclass

import pytest

from contract import generate, roadmap_changes
from contract.changes import CHANGE_TYPES
from projections import diff, roadmap, search, slips, summaries

PUBLISHED = frozenset(change_type for _, change_type in CHANGE_TYPES.values())


@dataclass(frozen=True)
class Registry:
    """A table of change types (``handled``) and the types it declares it ignores."""

    name: str
    handled: Collection[str]
    ignored: frozenset[str]
    ignored_name: str


REGISTRIES = (
    Registry("projections.roadmap.TRANSITIONS", roadmap.TRANSITIONS, roadmap.IGNORED,
             "projections.roadmap.IGNORED"),
    Registry("projections.summaries.DESCRIBERS", summaries.DESCRIBERS, summaries.IGNORED,
             "projections.summaries.IGNORED"),
    Registry("projections.diff.STEP_KINDS", diff.STEP_KINDS, diff.IGNORED,
             "projections.diff.IGNORED"),
    Registry("projections.search.TEXT_CHANGES", search.TEXT_CHANGES, search.IGNORED,
             "projections.search.IGNORED"),
    Registry("contract.roadmap_changes.DERIVERS", roadmap_changes.DERIVERS,
             roadmap_changes.IGNORED, "contract.roadmap_changes.IGNORED"),
    # The published contract describes every type: it ignores none.
    Registry("contract.generate.CHANGE_SUMMARIES", generate.CHANGE_SUMMARIES, frozenset(),
             "nothing (every published type needs a summary)"),
)


def problems(registry: Registry, published: frozenset[str]) -> list[str]:
    """What ``registry`` gets wrong about ``published``, one line per type."""
    handled, ignored = frozenset(registry.handled), registry.ignored
    found = [f"{registry.name}: {t!r} is in contract.changes.CHANGE_TYPES but is neither "
             f"handled here nor ignored in {registry.ignored_name}: handle it, or add it to "
             "the ignored types with the reason"
             for t in sorted(published - handled - ignored)]
    found += [f"{registry.name}: handles {t!r}, which is not in contract.changes.CHANGE_TYPES"
              for t in sorted(handled - published)]
    found += [f"{registry.ignored_name}: ignores {t!r}, which is not in "
              "contract.changes.CHANGE_TYPES" for t in sorted(ignored - published)]
    found += [f"{registry.name}: {t!r} is both handled here and ignored in "
              f"{registry.ignored_name}" for t in sorted(handled & ignored)]
    return found


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.name)
def test_every_change_type_is_handled_or_ignored_by_each_registry(registry: Registry) -> None:
    found = problems(registry, PUBLISHED)
    if found:
        pytest.fail("\n".join(found), pytrace=False)


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.name)
def test_a_change_type_added_to_the_contract_alone_is_reported_by_each_registry(
        registry: Registry) -> None:
    assert (f"{registry.name}: 'product.renamed' is in contract.changes.CHANGE_TYPES but is "
            f"neither handled here nor ignored in {registry.ignored_name}: handle it, or add it "
            "to the ignored types with the reason"
            ) in problems(registry, PUBLISHED | {"product.renamed"})


def test_a_type_unknown_to_the_contract_or_both_handled_and_ignored_is_reported() -> None:
    registry = Registry("x.HANDLERS", {"a.kept", "a.both", "a.gone"},
                        frozenset({"a.both", "a.dropped"}), "x.IGNORED")

    assert problems(registry, frozenset({"a.kept", "a.both"})) == [
        "x.HANDLERS: handles 'a.gone', which is not in contract.changes.CHANGE_TYPES",
        "x.IGNORED: ignores 'a.dropped', which is not in contract.changes.CHANGE_TYPES",
        "x.HANDLERS: 'a.both' is both handled here and ignored in x.IGNORED",
    ]


def test_the_types_named_outside_the_registries_are_change_types() -> None:
    named = {
        "projections.roadmap.CREATIONS": set(roadmap.CREATIONS),
        "projections.slips.TARGET_DATE_CHANGED": {slips.TARGET_DATE_CHANGED},
        "projections.slips.SCHEDULING": set(slips.SCHEDULING),
        "contract.roadmap_changes.ROADMAP_TYPES (source_type)":
            {spec.source_type for spec in roadmap_changes.ROADMAP_TYPES.values()},
    }
    unknown = [f"{where}: {t!r} is not in contract.changes.CHANGE_TYPES"
               for where, types in named.items() for t in sorted(types - PUBLISHED)]
    if unknown:
        pytest.fail("\n".join(unknown), pytrace=False)


def test_creations_have_transitions_and_roadmap_types_have_derivers() -> None:
    missing = [f"projections.roadmap.CREATIONS: {t!r} has no transition in TRANSITIONS"
               for t in sorted(roadmap.CREATIONS - roadmap.TRANSITIONS.keys())]
    missing += [f"contract.roadmap_changes.ROADMAP_TYPES: {name} comes from {spec.source_type!r},"
                " which has no deriver in DERIVERS"
                for name, spec in roadmap_changes.ROADMAP_TYPES.items()
                if spec.source_type not in roadmap_changes.DERIVERS]
    if missing:
        pytest.fail("\n".join(missing), pytrace=False)
