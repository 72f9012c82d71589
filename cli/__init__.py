"""The command-line interface: argparse front-end over the engine (``satchel ...``)."""
