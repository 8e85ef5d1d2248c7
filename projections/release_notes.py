"""Release notes: what did a shipped release bring its customers?

Markdown assembled when read from the roadmap's per-entity rows: the benefit statements
of the features that shipped in the release. No table of its own, so nothing to rebuild;
like :mod:`projections.slips`, it takes a connection to the views file and ids as text.
"""

from domain.errors import RuleViolation
from projections.dialect import Connection
from projections.intervals import states
from projections.roadmap import FEATURES, PRODUCTS, RELEASES, SHIPPED
from projections.summaries import escape_markdown


class ReleaseNotShipped(RuleViolation):
    """Release notes were asked for a release that has not shipped (yet)."""


def release_notes(conn: Connection, release_id: str) -> str | None:
    """Customer-facing Markdown notes of a shipped release, from the benefit statements of
    the features that shipped in it; None when the release is unknown."""
    releases = states(conn, RELEASES, "entity_id = ?", (release_id,), None)
    if not releases:
        return None
    release = releases[0]
    if release["state"] != SHIPPED:
        raise ReleaseNotShipped(
            f"Release '{release['name']}' is {release['state']}: release notes are assembled "
            "from what shipped, once the release has shipped."
        )
    products = states(conn, PRODUCTS, "entity_id = ?", (release["product_id"],), None)
    shipped = states(conn, FEATURES, "release_id = ? AND status = ?", (release_id, SHIPPED),
                     None)
    shipped.sort(key=lambda f: (-f["priority"], f["title"]))
    product = escape_markdown(products[0]["name"] if products else "")
    lines = [f"# {product} {escape_markdown(release['name'])}".strip(),
             "", f"_Released {release['shipped_on']}._"]
    if release["theme"]:
        lines += ["", escape_markdown(release["theme"])]
    lines += ["", "## What's new", ""]
    lines += [f"- **{escape_markdown(f['title'])}**: {escape_markdown(f['benefit'])}"
              for f in shipped] or ["- Fixes and improvements."]
    return "\n".join(lines) + "\n"
