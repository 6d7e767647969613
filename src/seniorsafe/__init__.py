"""Senior Safe Things: watching over elderly people who live alone."""

__version__ = "0.1.0"
