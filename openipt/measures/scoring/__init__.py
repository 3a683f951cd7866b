"""Pure, versioned scoring of questionnaires (no Django imports; see docs/measures.md §2)."""

from openipt.measures.scoring.definition import (
    AnswerOption,
    Band,
    CriticalItem,
    InstrumentDefinition,
    Item,
    NoticeRule,
    with_critical_threshold,
    with_cutoff,
)
from openipt.measures.scoring.engine import (
    VERSION,
    AnswerError,
    ScoreResult,
    answers_from_entries,
    half_up,
    score,
)
from openipt.measures.scoring.parser import (
    ParseOutcome,
    parse_questionnaire,
    parse_questionnaire_json,
)

__all__ = [
    "VERSION",
    "AnswerError",
    "AnswerOption",
    "Band",
    "CriticalItem",
    "InstrumentDefinition",
    "Item",
    "NoticeRule",
    "ParseOutcome",
    "ScoreResult",
    "answers_from_entries",
    "half_up",
    "parse_questionnaire",
    "parse_questionnaire_json",
    "score",
    "with_critical_threshold",
    "with_cutoff",
]
