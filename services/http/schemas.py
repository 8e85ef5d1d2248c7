"""Request and response bodies: the HTTP shape of the commands, kept out of the domain.

Limits mirror the domain's so that most bad input is refused here with a field name;
the domain still checks everything (e.g. text that is only spaces).
"""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from domain import feature, product, reasons, release
from domain.text import control_character
from services.identity.tokens import NAME_PATTERN, Role


def text(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


ProductName = Annotated[str, text(product.NAME_MAX)]
ProductText = Annotated[str, text(product.LONG_TEXT_MAX)]
Title = Annotated[str, text(feature.TITLE_MAX)]
FeatureText = Annotated[str, text(feature.TEXT_MAX)]
Criterion = Annotated[str, text(feature.CRITERION_MAX)]
ReleaseName = Annotated[str, text(release.NAME_MAX)]
Theme = Annotated[str, text(release.THEME_MAX, min_length=0)]
Rationale = Annotated[str, text(reasons.MAX_RATIONALE)]
Evidence = Annotated[str, text(reasons.MAX_EVIDENCE_LENGTH)]
def date_text(value: object) -> object:
    """Dates come as ``YYYY-MM-DD`` text (a bare number would be read as a Unix time)."""
    if not isinstance(value, str):
        raise ValueError("a date is text in the form YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(date_text)]
Priority = Annotated[float, Field(ge=0, le=feature.MAX_PRIORITY, allow_inf_nan=False,
                                  strict=True)]


class Body(BaseModel):
    """Every request body: unknown fields are refused, and so is text holding a control
    character other than newline and tab (in any field, list item or key)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def printable(cls, value: Any) -> Any:
        found = next(filter(None, map(control_character, texts(value))), None)
        if found is not None:
            raise ValueError(f"control characters are not allowed (found {found}); only "
                             "line breaks (\\n) and tabs may appear in text")
        return value


def texts(value: Any) -> list[str]:
    """The strings in a field's value: itself, its items, a mapping's keys and values (a
    nested body checks its own fields)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [string for item in value for string in texts(item)]
    if isinstance(value, dict):
        return [string for pair in value.items() for string in texts(list(pair))]
    return []


class Change(Body):
    """A change after creation: why it is made, and on what evidence."""

    rationale: Rationale
    evidence: list[Evidence] = Field(default_factory=list,
                                     max_length=reasons.MAX_EVIDENCE_ITEMS)


# Products


class ProductIn(Body):
    name: ProductName
    vision: ProductText
    value_proposition: ProductText
    target_customers: ProductText
    owner: ProductName
    strategy: Annotated[str, text(product.LONG_TEXT_MAX, min_length=0)] | None = None


class VisionIn(Change):
    vision: ProductText


class StrategyIn(Change):
    strategy: ProductText


class ProductOut(BaseModel):
    id: UUID
    version: int
    name: str
    vision: str
    value_proposition: str
    target_customers: str
    strategy: str
    owner: str
    retired: bool


# Features


class RequirementIn(Body):
    text: FeatureText
    acceptance_criteria: list[Criterion] = Field(
        default_factory=list, max_length=feature.MAX_CRITERIA)


class FeatureIn(Body):
    title: Title
    problem: FeatureText
    business_value: FeatureText
    benefit: FeatureText
    priority: Priority = 0.0
    requirements: list[RequirementIn] = Field(default_factory=list,
                                              max_length=feature.MAX_REQUIREMENTS)


class ScheduleIn(Change):
    release_id: UUID


class StatusIn(Change):
    status: Annotated[str, StringConstraints(min_length=1, max_length=50)]


class PriorityIn(Change):
    priority: Priority


class DetailsIn(Change):
    title: Title | None = None
    problem: FeatureText | None = None
    business_value: FeatureText | None = None
    benefit: FeatureText | None = None


class RequirementChangeIn(Change):
    text: FeatureText
    acceptance_criteria: list[Criterion] = Field(
        default_factory=list, max_length=feature.MAX_CRITERIA)


class RequirementOut(BaseModel):
    id: str
    text: str
    acceptance_criteria: list[str]


class FeatureOut(BaseModel):
    id: UUID
    version: int
    product_id: UUID
    title: str
    problem: str
    business_value: str
    benefit: str
    priority: float
    status: str
    release_id: UUID | None
    requirements: list[RequirementOut]
    #: How the priority was last scored, if it was: ``{"formula": "rice.v1", "inputs": {...}}``.
    score: dict[str, Any] | None = None


# Releases


class ReleaseIn(Body):
    name: ReleaseName
    target_date: IsoDate
    theme: Theme | None = None


class TargetDateIn(Change):
    target_date: IsoDate


class ShipIn(Change):
    shipped_on: IsoDate


class ReleaseOut(BaseModel):
    id: UUID
    version: int
    product_id: UUID
    name: str
    theme: str
    target_date: date
    state: str
    shipped_on: date | None
    feature_ids: list[UUID]


# Outcomes and tokens


class OutcomeOut(BaseModel):
    """The result of every write: the entity, its new version, and the log position to
    pass as ``?after=`` to read your write from the views."""

    id: UUID
    version: int
    position: int


class TokenIn(Body):
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    role: Role


class TokenOut(BaseModel):
    name: str
    role: Role
    created_at: str


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown only once: store it now.")


class ProblemOut(BaseModel):
    """An error (RFC 9457 problem details), sent as ``application/problem+json``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Validation errors: field, in (body/query/path), message.")
    current_version: int | None = Field(default=None, description="With 412: the version now.")
