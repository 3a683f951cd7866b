"""English date formats as OpenIPT writes them ("4 December 2026"), in place of Django's
American defaults; Spanish uses Django's own ("4 de diciembre de 2026"). Templates name
these formats (``|date:"DATE_FORMAT"``) so each language writes dates its own way
(docs/translation.md)."""

DATE_FORMAT = "j F Y"
MONTH_DAY_FORMAT = "j F"
DATETIME_FORMAT = "j F Y, H:i"
