"""Product: created by its owner; vision and strategy revised with reasons; retired."""

from domain.errors import InvalidCommand, RuleViolation
from domain.product import LONG_TEXT_MAX, NAME_MAX, Product
from tests.support.builders import ACTOR, PRODUCT, a_product, because
from tests.support.gwt import given, recorded, then_events, then_refused, when


def test_creating_a_product_records_its_details_and_who_created_it() -> None:
    events = when(Product.create, **PRODUCT, strategy="  Land with PMs first.  ")

    then_events(events, (Product.Created, {**PRODUCT, "strategy": "Land with PMs first."}))


def test_a_product_without_a_strategy_starts_with_an_empty_one() -> None:
    product = given(*recorded(a_product()))

    assert product.strategy == ""
    assert product.retired is False


def test_a_product_needs_a_name() -> None:
    with then_refused(InvalidCommand, "The product name must not be empty"):
        a_product(name="   ")


def test_a_product_name_with_a_nul_byte_is_refused() -> None:
    with then_refused(InvalidCommand, r"The product name must not contain control characters "
                                      r"\(found U\+0000\)"):
        a_product(name="Ledger\x00")


def test_a_product_name_has_a_length_limit() -> None:
    with then_refused(InvalidCommand, f"The product name must be at most {NAME_MAX} characters"):
        a_product(name="x" * (NAME_MAX + 1))


def test_a_product_vision_has_a_length_limit() -> None:
    with then_refused(InvalidCommand, f"The vision must be at most {LONG_TEXT_MAX} characters"):
        a_product(vision="x" * (LONG_TEXT_MAX + 1))


def test_revising_the_vision_records_the_old_and_new_vision_with_the_reason() -> None:
    product = given(*recorded(a_product(vision="Old vision")))

    events = when(product.revise_vision, "New vision", because("Churn study", "https://wiki/churn"))

    then_events(events, (Product.VisionRevised, {
        "old_vision": "Old vision", "vision": "New vision", "product_id": product.id,
        "actor": ACTOR, "rationale": "Churn study", "evidence": ["https://wiki/churn"],
        "decision_id": None,
    }))
    assert product.vision == "New vision"


def test_revising_the_vision_to_the_same_text_is_refused() -> None:
    product = given(*recorded(a_product(vision="Same")))

    with then_refused(RuleViolation, "already exactly that", product):
        product.revise_vision(" Same ", because())


def test_an_empty_vision_is_refused() -> None:
    product = given(*recorded(a_product()))

    with then_refused(InvalidCommand, "The vision must not be empty", product):
        product.revise_vision("", because())


def test_revising_the_strategy_records_the_old_and_new_strategy() -> None:
    product = given(*recorded(a_product(strategy="Bottom-up")))

    events = when(product.revise_strategy, "Top-down", because("Enterprise deals"))

    then_events(events, (Product.StrategyRevised, {
        "old_strategy": "Bottom-up", "strategy": "Top-down", "rationale": "Enterprise deals",
    }))


def test_a_first_strategy_is_recorded_as_a_revision_of_the_empty_one() -> None:
    product = given(*recorded(a_product()))

    events = when(product.revise_strategy, "Bottom-up", because())

    then_events(events, (Product.StrategyRevised, {"old_strategy": "", "strategy": "Bottom-up"}))


def test_retiring_a_product_records_who_and_why() -> None:
    product = given(*recorded(a_product()))

    events = when(product.retire, because("Merged into Atlas"))

    then_events(events, (Product.Retired, {"actor": ACTOR, "rationale": "Merged into Atlas"}))
    assert product.retired is True


def test_a_retired_product_refuses_every_change() -> None:
    product = given(*recorded(a_product(), lambda p: p.retire(because())))

    with then_refused(RuleViolation, "Product 'Ledger' is retired", product):
        product.revise_vision("Another", because())
    with then_refused(RuleViolation, "is retired", product):
        product.revise_strategy("Another", because())
    with then_refused(RuleViolation, "is retired", product):
        product.retire(because())
