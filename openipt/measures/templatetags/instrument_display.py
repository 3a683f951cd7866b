"""How an instrument is shown, as its owner publishes it (docs/measures.md §1): its
instructions above the items, each item's own notes, and its copyright or source notice
wherever the items appear (portal, clinician entry page, PDFs).

``{% load instrument_display %}`` then ``{% instrument_instructions instrument %}``,
``{% instrument_item_notes item %}`` and ``{% instrument_notice instrument %}``; each takes
an ``Instrument`` row or its parsed ``InstrumentDefinition`` (items: a parsed ``Item``).
"""

from __future__ import annotations

from typing import Any

from django import template

from openipt.measures.models import Instrument
from openipt.measures.scoring import InstrumentDefinition, Item

register = template.Library()


def _definition(instrument: Instrument | InstrumentDefinition) -> InstrumentDefinition:
    return instrument.parsed if isinstance(instrument, Instrument) else instrument


@register.inclusion_tag("measures/partials/instrument_instructions.html")
def instrument_instructions(instrument: Instrument | InstrumentDefinition) -> dict[str, Any]:
    return {"texts": _definition(instrument).instructions}


@register.inclusion_tag("measures/partials/instrument_item_notes.html")
def instrument_item_notes(item: Item) -> dict[str, Any]:
    return {"texts": (*item.preamble, *item.notes)}


@register.inclusion_tag("measures/partials/instrument_notice.html")
def instrument_notice(
    instrument: Instrument | InstrumentDefinition, *, source: bool = True
) -> dict[str, Any]:
    """The copyright notice; with ``source`` (the clinician's pages) also the citation."""
    definition = _definition(instrument)
    return {
        "copyright": definition.copyright,
        "citation": definition.citation if source else "",
    }
