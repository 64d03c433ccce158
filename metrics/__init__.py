"""The one source of truth for every number the dashboard, the weekly PDF and the CLI show."""

from metrics.core import *  # noqa: F401,F403
from metrics.core import Scope, stats  # noqa: F401
