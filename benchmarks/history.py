"""A realistic event log of any size: products whose features are reprioritised and moved
between releases whose dates slip. Built through the domain model, saved in large
transactions (setup speed is not what the benchmarks measure)."""

from datetime import date, timedelta

from benchmarks.workload import REASON
from domain.feature import Feature
from domain.product import Product
from domain.release import Release
from services.commands.application import DecisionLog

FEATURES = 50
RELEASES = 5
ROUNDS_PER_PRODUCT = 10


def write_history(app: DecisionLog, events: int) -> int:
    """Append at least ``events`` events to ``app``'s log; returns how many were written."""
    written = 0
    while written < events:
        written += _product_history(app, written)
    return written


def _product_history(app: DecisionLog, seed: int) -> int:
    product = Product.create(name=f"Product {seed}", vision="Plans people trust.",
                             value_proposition="Fewer surprises.", target_customers="PMs.",
                             owner="pm@example.com", actor="pm@example.com")
    releases = [Release.plan(product_id=product.id, name=f"{seed}.{n}", actor="pm@example.com",
                             target_date=date(2030, 1, 1) + timedelta(days=30 * n),
                             theme="Speed.")
                for n in range(RELEASES)]
    features = [Feature.propose(product_id=product.id, title=f"Feature {n}",
                                problem="Roadmaps go stale.", business_value="Trust.",
                                benefit="Always-current plans.", actor="pm@example.com",
                                priority=float(n), requirements=[
                                    {"text": "Show the date.", "acceptance_criteria": ["Shown"]}])
                for n in range(FEATURES)]
    written = len(app.save(product, *releases, *features))
    for round_ in range(1, ROUNDS_PER_PRODUCT + 1):
        for n, feature in enumerate(features):
            feature.change_priority(float(round_ * 1000 + n), REASON)
            target = releases[(n + round_) % RELEASES]
            if feature.release_id is not None:
                next(r for r in releases if r.id == feature.release_id).remove_feature(
                    feature.id, REASON)
            feature.schedule(target.id, REASON)
            target.add_feature(feature.id, REASON)
        for release in releases:
            release.change_target_date(release.target_date + timedelta(days=7), REASON)
        written += len(app.save(*releases, *features))
    return written
