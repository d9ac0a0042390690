import sys

from gateway.cli import main

if __name__ == "__main__":  # the embedded worker process is spawned and imports this module again
    sys.exit(main())
