"""The store: FHIR resources, their history and search index, in one transaction.

It is the only package that opens a transaction or commits.
"""

from pacsbridge.store.database import Database, open_database
from pacsbridge.store.hooks import Change, Hooks
from pacsbridge.store.transaction import Store, Transaction

__all__ = ["Change", "Database", "Hooks", "Store", "Transaction", "open_database"]
