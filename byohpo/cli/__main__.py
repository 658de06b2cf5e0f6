"""``python -m byohpo.cli``: the ``byohpo`` command."""

from __future__ import annotations

import sys

from byohpo.cli._main import main

sys.exit(main())
