"""The IPT domain as plain Python: no Django, no other OpenIPT app (docs/architecture.md).

``openipt.ipt.vocabulary`` holds every IPT enumeration once, with its stored values and its
labels. The Django models build their choices from it, and the pure protocol and format
modules (``openipt.treatment.protocol``, ``openipt.treatment.formats``) import from it.
"""
