"""Development: DEBUG on unless the environment says otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
