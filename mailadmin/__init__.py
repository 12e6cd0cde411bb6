"""mailadmin: the operator's command line for a multi-tenant email-sending platform."""

__version__ = "0.1.0"
