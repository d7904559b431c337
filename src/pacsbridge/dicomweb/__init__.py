"""The DICOMweb face (PS3.18): QIDO-RS search and WADO-RS retrieve over the DICOM index."""

from pacsbridge.dicomweb.router import CORS_MIDDLEWARE, DicomwebEndpoints, dicomweb_routes

__all__ = ["CORS_MIDDLEWARE", "DicomwebEndpoints", "dicomweb_routes"]
