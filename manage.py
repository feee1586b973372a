#!/usr/bin/env python
"""Django's command-line utility; ``kuaiban`` is the same thing installed as a console script."""

from kuaiban.cli import main

if __name__ == "__main__":
    main()
