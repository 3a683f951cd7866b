"""What the demo practice tells its clients about getting help in a crisis.

Every number is from a range the UK regulator keeps for drama and examples, so none of them
connects to anyone, and each line's name says it is part of the demo. No emergency number is
set: the portal then tells the client to call their local emergency number, which is right
wherever the demo is opened.
"""

from __future__ import annotations

from openipt.accounts.models import CrisisLine
from openipt.accounts.practice_settings import CrisisSettings

DEMO_CRISIS_LINES = (
    CrisisLine(
        "Demo out-of-hours crisis line (not a real number)",
        "0808 157 0192",
        "Every day, 24 hours",
    ),
    CrisisLine(
        "Demo Practice duty clinician (not a real number)",
        "020 7946 0471",
        "Monday to Friday, 9am to 5pm",
    ),
)

DEMO_RESPONSE_TIME = "within one working day (Monday to Friday)"

DEMO_CRISIS_INFORMATION = (
    "If things feel too much, you do not have to wait for your next session. You can call "
    "one of these lines, or ask someone you trust to stay with you while you do. If you "
    "think you might act on thoughts of harming yourself, call your local emergency number "
    "or go to the nearest emergency department.\n"
    "This is a demo practice: its people, records and phone numbers are made up, and the "
    "numbers here do not connect to anyone."
)

DEMO_CRISIS_SETTINGS = CrisisSettings(
    crisis_lines=DEMO_CRISIS_LINES,
    response_time=DEMO_RESPONSE_TIME,
    crisis_information=DEMO_CRISIS_INFORMATION,
)
