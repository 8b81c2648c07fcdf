"""Command line: thin commands over library calls (`transformers-bat <command> --help`)."""
