"""The one error type of a bad config, file, flag or path."""
from __future__ import annotations

from typing import Iterable


class ConfigError(Exception):
    """One or more config problems; ``str()`` gives one line per problem, each
    naming where (file or flag), the field, the value and what is allowed."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
