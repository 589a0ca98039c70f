"""The command-line front end: parse, call the public API, print. Flags, printing and JSON shapes live here only."""
