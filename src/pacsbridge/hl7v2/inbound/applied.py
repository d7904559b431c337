"""What applying one message did: the resources it touched, and keys for the message log."""

from __future__ import annotations

from dataclasses import dataclass, field

from pacsbridge.store.resources import StoredResource


@dataclass
class Applied:
    resources: list[str] = field(default_factory=list)  # "Type/id/_history/v"
    patient_id: str | None = None
    accession: str | None = None

    def add(self, stored: StoredResource) -> StoredResource:
        reference = f"{stored.type}/{stored.id}/_history/{stored.version_id}"
        if reference not in self.resources:
            self.resources.append(reference)
        return stored
