"""Allow `python -m mailadmin`."""

from mailadmin.cli.app import main

if __name__ == "__main__":
    main()
