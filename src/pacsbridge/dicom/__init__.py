"""The DICOM face (DIMSE): Verification and Modality Worklist; MPPS and Storage follow."""
