"""pacsbridge: an integration server for imaging departments.

HL7 v2 over MLLP, FHIR R4 over REST and DICOM around one store of FHIR resources.
"""

__version__ = "0.1.0"
