"""A quick check of a configuration file: `python -m gateway.config FILE` prints what it gives."""

import sys

from gateway.config.settings import load_settings
from gateway.core.errors import ConfigError

try:
    print(load_settings(sys.argv[1] if len(sys.argv) > 1 else None).model_dump_json(indent=2))
except ConfigError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
