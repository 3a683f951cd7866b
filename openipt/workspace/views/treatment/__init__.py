"""Clinician pages for the IPT course, one module per part of the course; the URLs import
the modules (``openipt.workspace.urls.treatment``)."""
