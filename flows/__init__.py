"""Prefect flows and the `vidcot` command line. Flows orchestrate stages; they hold no curation logic."""
