"""Who may do what: the SMART on FHIR authorization server, tokens, scopes and audit.

``middleware`` turns credentials into a :class:`~pacsbridge.auth.principal.Principal` for
each HTTP request; ``scopes`` and ``compartment`` say what it may see, and each face
applies them where its data is read; ``routes`` is the authorization server itself
(authorize, token, revoke, introspect, login pages); ``audit`` records every access to
patient data as an AuditEvent.
"""
