"""One module per `vidcot` subcommand; each exposes `register(subparsers)`."""
