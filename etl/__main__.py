"""`python -m etl`: the project's command line, which cli.py assembles from every package."""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
