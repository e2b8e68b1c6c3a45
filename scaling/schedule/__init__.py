"""Pure time: the schedule grammar, business hours, holidays and transitions (imports only the core).

`from scaling.schedule import parse, ScheduleError, Schedule` is the public entry point; the rest lives in
the modules of this folder.
"""

from scaling.schedule.grammar import ScheduleError
from scaling.schedule.hours import Schedule, parse

__all__ = ["Schedule", "ScheduleError", "parse"]
