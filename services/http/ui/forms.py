"""What a page's form sends, read into the API's own request bodies.

Forms are posted URL-encoded (a browser's default; no multipart parser needed). Their
fields become the same pydantic bodies the JSON routes validate (:mod:`services.http.schemas`,
:mod:`services.http.decision_schemas`), so the pages refuse exactly what the API refuses,
with the message phrased for the person at the form (:class:`FormError`).
"""

from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

from pydantic import BaseModel, ValidationError

from domain import clock

M = TypeVar("M", bound=BaseModel)

#: A page's forms have a few dozen fields; more is not one of ours.
MAX_FIELDS = 200
#: How many roadmap changes the accept form offers.
CHANGE_ROWS = 3
#: How many options the decision form offers.
OPTION_ROWS = 3

#: Field names of the bodies, as the forms label them.
LABELS = {
    "rationale": "Why (rationale)", "evidence": "Evidence", "release_id": "Release",
    "feature_id": "Feature", "status": "Status", "target_date": "Target date",
    "priority": "Priority", "title": "Title", "problem": "Problem",
    "business_value": "Business value", "benefit": "Benefit statement",
    "requirements": "Requirements", "acceptance_criteria": "Acceptance criteria",
    "text": "Requirement", "name": "Name", "theme": "Theme", "context": "Context",
    "options": "Options", "chosen_option": "Chosen option", "deciders": "Deciders",
    "consulted": "Consulted", "supersedes": "Supersedes", "description": "Description",
    "pros": "Pros", "cons": "Cons", "changes": "Changes", "kind": "Kind of change",
}


class FormError(Exception):
    """What is wrong with a form, one message per problem, for the person who sent it."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


class Form:
    """The fields of a URL-encoded form. Line breaks are made ``\\n`` (browsers send
    ``\\r\\n`` from a textarea; the domain refuses carriage returns in text)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    @classmethod
    def parse(cls, body: bytes) -> "Form":
        try:
            text = body.decode("utf-8")
            fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError) as error:
            raise FormError("The form could not be read; reload the page and try again.") \
                from error
        return cls({k: [v.replace("\r\n", "\n") for v in vs] for k, vs in fields.items()})

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def lines(self, name: str) -> list[str]:
        """A textarea holding one item per line; blank lines are skipped."""
        return [line.strip() for line in self.get(name).split("\n") if line.strip()]

    def names(self, name: str) -> list[str]:
        """People separated by commas or lines."""
        return [n.strip() for n in self.get(name).replace("\n", ",").split(",") if n.strip()]

    def version(self) -> int | None:
        """The version of the entity the page showed (sent as the command's expected
        version: a write on a changed entity is refused, 412)."""
        text = self.get("expected_version").strip()
        return int(text) if text.isdigit() and len(text) <= 18 else None

    def values(self) -> dict[str, str]:
        """The first value of each field, to fill the form in again after an error."""
        return {k: vs[0] for k, vs in self.fields.items() if vs and k != "csrf"}


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``, or a :class:`FormError` naming each field as the form does."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormError(*(message(e) for e in error.errors())) from None


def message(error: Any) -> str:
    names = [str(p) for p in error["loc"] if isinstance(p, str) and p in LABELS]
    where = LABELS[names[-1]] if names else "The form"
    numbers = [p + 1 for p in error["loc"] if isinstance(p, int)]
    if numbers and names and names[0] in ("changes", "options", "requirements"):
        where = f"{LABELS[names[0]].rstrip('s')} {numbers[0]}: {where}"
    if error["type"] == "missing":
        return f"{where} is required."
    text = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {text}."


# The bodies of the forms


def change(form: Form) -> dict[str, Any]:
    """Why a change is made, and on what evidence (one link or note per line)."""
    return {"rationale": form.get("rationale"), "evidence": form.lines("evidence")}


def priority(text: str) -> float:
    try:
        return float(text) if text.strip() else 0.0
    except ValueError:
        raise FormError(f"Priority: '{text}' is not a number.") from None


def requirements(text: str) -> list[dict[str, Any]]:
    """Requirements written one per paragraph: a line saying what is required, then its
    acceptance criteria, one per line starting with ``-``."""
    found: list[dict[str, Any]] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("-") and found:
            criterion = stripped[1:].strip()
            if criterion:
                found[-1]["acceptance_criteria"].append(criterion)
        else:
            found.append({"text": stripped, "acceptance_criteria": []})
    return found


def feature(form: Form) -> dict[str, Any]:
    return {"title": form.get("title"), "problem": form.get("problem"),
            "business_value": form.get("business_value"), "benefit": form.get("benefit"),
            "priority": priority(form.get("priority")),
            "requirements": requirements(form.get("requirements"))}


def release(form: Form) -> dict[str, Any]:
    return {"name": form.get("name"), "target_date": form.get("target_date"),
            "theme": form.get("theme") or None}


def decision(form: Form) -> dict[str, Any]:
    options, chosen = [], ""
    for n in range(1, OPTION_ROWS + 1):
        name = form.get(f"option-{n}-name").strip()
        if not name:
            continue
        options.append({"name": name, "description": form.get(f"option-{n}-description"),
                        "pros": form.lines(f"option-{n}-pros"),
                        "cons": form.lines(f"option-{n}-cons")})
        if form.get("chosen") == str(n):
            chosen = name
    if not options:
        raise FormError("Options: name at least one option considered.")
    if not chosen:
        raise FormError("Chosen option: mark which of the options named was chosen.")
    return {"title": form.get("title"), "context": form.get("context"), "options": options,
            "chosen_option": chosen, "rationale": form.get("rationale"),
            "evidence": form.lines("evidence"), "deciders": form.names("deciders"),
            "consulted": form.names("consulted"),
            "supersedes": form.get("supersedes") or None}


#: The fields each kind of roadmap change takes from its row of the accept form.
CHANGE_FIELDS = {
    "move_feature": ("feature_id", "release_id"),
    "unschedule_feature": ("feature_id",),
    "change_target_date": ("release_id", "target_date"),
    "change_status": ("feature_id", "status"),
    "change_priority": ("feature_id", "priority"),
}
FIELD_INPUTS = {"feature_id": "feature", "release_id": "release", "target_date": "date",
                "status": "status", "priority": "priority"}


def changes(form: Form) -> dict[str, Any]:
    """The roadmap changes of the accept form's rows (a row without a kind is skipped)."""
    found = []
    for n in range(1, CHANGE_ROWS + 1):
        kind = form.get(f"change-{n}-kind")
        if not kind:
            continue
        if kind not in CHANGE_FIELDS:
            raise FormError(f"Change {n}: choose what kind of change it is.")
        item: dict[str, Any] = {"kind": kind}
        for name in CHANGE_FIELDS[kind]:
            value: Any = form.get(f"change-{n}-{FIELD_INPUTS[name]}")
            if not value:
                raise FormError(f"Change {n}: {LABELS[name]} is required for this kind.")
            item[name] = priority(value) if name == "priority" else value
        found.append(item)
    return {"changes": found}


def instant(text: str, what: str) -> datetime | None:
    """An instant picked on a page (``datetime-local`` sends it without a timezone: the
    pages show and pick instants in UTC); None when left empty. Only the past."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormError(f"{what}: '{text}' is not a date and time "
                        "(e.g. 2027-02-01T09:30).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment > clock.now():
        raise FormError(f"{what}: {moment:%Y-%m-%d %H:%M:%S} UTC is in the future; the log "
                        "can only tell how things stood in the past.")
    return moment
