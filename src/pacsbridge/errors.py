"""The one error tree that every layer raises and every face answers.

Each error carries a readable ``text`` and a ``location`` (an HL7 address such as
``"PID.3"``, a DICOM keyword, or a FHIRPath such as ``"Patient.name[0].family"``).
Faces translate these into their own answer in one place each (``fhir/outcome.py``
for FHIR), most specific class first. Nothing here knows about HTTP or HL7.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One finding, the shape of a FHIR OperationOutcome.issue and of an HL7 ERR."""

    text: str
    location: str | None = None
    severity: str = "error"  # fatal | error | warning | information
    code: str = "invalid"  # FHIR issue-type code


class PacsbridgeError(Exception):
    """Base of every error we raise on purpose."""

    issue_code = "exception"

    def __init__(self, text: str, location: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.location = location

    @property
    def issues(self) -> list[Issue]:
        return [Issue(self.text, self.location, code=self.issue_code)]


# --- content errors: the request or message is wrong ---


class InvalidContent(PacsbridgeError):
    """Content that breaks the definitions; may carry several issues at once."""

    issue_code = "invalid"

    def __init__(self, text: str, location: str | None = None, issues: list[Issue] | None = None):
        super().__init__(text, location)
        self._issues = issues

    @property
    def issues(self) -> list[Issue]:
        return self._issues or super().issues


class InvalidResource(InvalidContent):
    """A resource that parses but breaks the R4 definitions (answered 422 by FHIR)."""

    issue_code = "invalid"


class MissingField(InvalidContent):
    """A required element or field is absent."""

    issue_code = "required"


class BadValue(InvalidContent):
    """A value of the wrong type, format or outside its value set."""

    issue_code = "value"


class Unsupported(PacsbridgeError):
    """A type, event, version, interaction or parameter we do not implement."""

    issue_code = "not-supported"


# --- state errors: the content is fine but the store says no ---


class UnknownKey(PacsbridgeError):
    """What was referred to does not exist."""

    issue_code = "not-found"


class Gone(UnknownKey):
    """It existed and was deleted."""

    issue_code = "deleted"


class DuplicateKey(PacsbridgeError):
    """Something that must be unique already exists (or criteria matched several)."""

    issue_code = "duplicate"


class MultipleMatches(DuplicateKey):
    """Conditional criteria that match more than one resource where one was meant."""

    issue_code = "multiple-matches"


class VersionConflict(PacsbridgeError):
    """An ``If-Match`` version that is not the current one: someone else wrote first."""

    issue_code = "conflict"


class FinalState(PacsbridgeError):
    """A state machine already in a final state refuses the change."""

    issue_code = "conflict"


class TooCostly(PacsbridgeError):
    """The request would do too much work (criteria matching too many, bundle too big)."""

    issue_code = "too-costly"


class NotAuthorized(PacsbridgeError):
    """Authenticated but not allowed, or not authenticated at all."""

    issue_code = "security"


@dataclass
class Problems:
    """Collects issues while walking content, so one answer names them all."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, text: str, location: str | None, code: str = "invalid") -> None:
        self.issues.append(Issue(text, location, code=code))

    def raise_if_any(self) -> None:
        if self.issues:
            first = self.issues[0]
            raise InvalidContent(first.text, first.location, self.issues)


__all__ = [
    "BadValue",
    "DuplicateKey",
    "FinalState",
    "Gone",
    "InvalidContent",
    "InvalidResource",
    "Issue",
    "MissingField",
    "MultipleMatches",
    "NotAuthorized",
    "PacsbridgeError",
    "Problems",
    "TooCostly",
    "UnknownKey",
    "Unsupported",
    "VersionConflict",
]
