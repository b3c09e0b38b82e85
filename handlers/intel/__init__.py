"""Recruiter intelligence: the identifiers in reports and adverts (`identifiers`, pure), their
storage and the links between reports (`indexing`), and what a resident's check may learn:
`indexing.confirmed_marks`. Marking and confirming, with their roles, are
handlers/usecases/intel.py."""
