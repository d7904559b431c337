"""The FHIR R4 REST face at /fhir/R4."""
