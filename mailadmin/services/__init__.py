"""The library: plain functions over a Session that decide, write (with their audit entries) and
raise `mailadmin.errors`. Every rule of the spec lives here once; the CLI only parses and renders."""
