"""The one door to client data for views: ``access_*`` gates.

Each gate fetches one record the user may reach (``Http404`` otherwise: a person without
access cannot learn that it exists), using the policy in ``openipt.accounts.policy``, and,
when given ``audit=request``, records the read it serves as exactly one audit event in the
same call, so a view cannot fetch client data for display without auditing it. A view
passes ``audit=None`` only when it shows nothing of the record (a POST that redirects; the
service audits the write). One module per domain: ``clients``, ``treatment``, ``measures``,
``scheduling``, ``engagement``.
"""
