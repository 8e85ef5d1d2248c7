"""Commands and reads name entities by id: a missing one, or one of the wrong kind, is NotFound."""

from uuid import uuid4

import pytest

from services.commands.application import DecisionLog
from services.store.errors import NotFound
from tests.support.builders import LEDGER, because, today


def test_an_unknown_id_is_not_found(log: DecisionLog) -> None:
    unknown = uuid4()

    with pytest.raises(NotFound, match=f"No feature with id {unknown}"):
        log.get_feature(unknown)
    with pytest.raises(NotFound, match="No product with id"):
        log.revise_vision(unknown, "New", because())
    with pytest.raises(NotFound, match="No release with id"):
        log.cancel_release(unknown, because())
    with pytest.raises(NotFound, match="No product with id"):
        LEDGER.a_feature(log, unknown)


def test_an_id_of_another_kind_of_entity_is_not_found(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    feature_id, release_id = LEDGER.a_feature(log, product_id), LEDGER.a_release(log, product_id)
    before = log.event_count()

    with pytest.raises(NotFound, match=f"No feature with id {product_id}"):
        log.get_feature(product_id)
    with pytest.raises(NotFound, match=f"No release with id {feature_id}"):
        log.ship_release(feature_id, today(), because())
    with pytest.raises(NotFound, match=f"No product with id {release_id}"):
        log.retire_product(release_id, because())
    with pytest.raises(NotFound, match=f"No product with id {feature_id}"):
        LEDGER.a_release(log, feature_id)

    assert log.event_count() == before
