"""Pure DICOM value conversions, shared by the DICOM face and the store."""
