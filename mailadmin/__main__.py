"""Allow `python -m mailadmin`."""

from mailadmin.cli import main

if __name__ == "__main__":
    main()
