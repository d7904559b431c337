"""Who may do what: the SMART on FHIR authorization server, tokens, scopes and audit.

``middleware`` turns credentials into a :class:`~pacsbridge.auth.principal.Principal` for
each HTTP request; ``scopes`` and ``compartment`` say what it may see, and each face
applies them where its data is read; ``routes`` lists the authorization server itself:
``authorize`` (with ``authorize_request``, ``consent``, ``pending``, ``csrf``),
``token_endpoint`` (``client_auth``, ``client_assertion``, ``user_tokens``),
``revocation``, ``introspection``, ``session`` (console sign-in), ``admin_api`` and
``discovery``; ``audit`` records every access to patient data as an AuditEvent.
"""
